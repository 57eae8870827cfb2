"""`manage.py check`: apps that share a Chartboost app ID within an organization.

New duplicates are refused (`App.clean`); these are the ones saved before that rule,
left as they are until someone corrects them on their app pages.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import DatabaseError
from django.db.models import Count

from mappings.models import App, apps_with_chartboost_app_id


def duplicate_chartboost_app_ids_check(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if app_configs is not None and not any(config.name == "mappings" for config in app_configs):
        return []
    try:
        return [_warning(organization_id, app_id) for organization_id, app_id in _shared_ids()]
    except DatabaseError:
        # Before `migrate` there is no table to read; nothing can be duplicated yet.
        return []


def _shared_ids() -> list[tuple[int, str]]:
    return list(
        App.objects.filter(archived_at__isnull=True)
        .values("organization_id", "chartboost_app_id").annotate(apps=Count("id")).filter(apps__gt=1)
        .order_by("organization_id", "chartboost_app_id").values_list("organization_id", "chartboost_app_id")
    )


def _warning(organization_id: int, chartboost_app_id: str) -> checks.Warning:
    apps = list(apps_with_chartboost_app_id(organization_id, chartboost_app_id).select_related("organization"))
    names = ", ".join(f"“{app.name}” (id {app.pk})" for app in apps)
    return checks.Warning(
        f"Apps of organization “{apps[0].organization.name}” share the Chartboost app ID {chartboost_app_id}: "
        f"{names}.",
        hint="Each app needs its own Chartboost app ID. Correct all but one of them on their app pages; "
        "until then they are left as they are.",
        obj=apps[0],
        id="mappings.W001",
    )
