"""The dashboard shell's pages: the apps list and an app's tabs (overview, mappings, settings), which
gather panels from every part of the product, and deleting an app.

The app's tabs are listed in trackerui/dashboard/templatetags/dashboard_tags.py (`APP_TABS`); its
Deliveries tab is delivery's page (`delivery.views.app_deliveries`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from delivery.health import app_health
from delivery.outbox.circuit import circuits_view
from delivery.panels import app_overview_panels, test_event_result_take
from delivery.selectors import app_token_unreadable, failed_reason_top, unmapped_event_names
from mappings.models import App
from mappings.selectors import (
    app_get_for_request,
    apps_sharing_chartboost_app_id,
    apps_with_active_mapping_counts,
    event_fields_free,
    mappings_with_event_fields,
    write_keys_for_app,
)
from trackerui.accounts import roles
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request
from trackerui.dashboard.services import app_archive
from trackerui.foundation.htmx import is_htmx, vary_on_htmx


@organization_required
def app_list(request: HttpRequest) -> HttpResponse:
    # Here, not in mappings: the health badges read delivery, which mappings may not import.
    apps = list(apps_with_active_mapping_counts(organization_for_request(request)))
    health = app_health(apps)
    return render(request, "apps/list.html", {"apps": apps, "app_rows": [(app, health[app.pk]) for app in apps]})


def _mapping_context(app: App) -> dict[str, Any]:
    return {
        "mapping_rows": mappings_with_event_fields(app),
        "free_event_fields": event_fields_free(app),
        "unmapped_events": list(unmapped_event_names(app)),
        # Tells "nothing arrived yet" apart from "everything that arrived is mapped".
        "any_event_received": app.event_names.exists(),
    }


def _overview_live_context(app: App) -> dict[str, Any]:
    """What templates/apps/_overview_live.html shows (health, the circuit, open problems) and no more:
    htmx asks for it every 10 s while the overview is open."""
    health = app_health([app])[app.pk]
    return {
        "app": app,
        "health": health,
        # Read with the health already, from the same sending-state row.
        "circuit": health.circuit,
        "token_unreadable": health.token_unreadable,
        # Duplicates saved before the rule that refuses them (App.clean) are only flagged.
        "apps_sharing_app_id": list(apps_sharing_chartboost_app_id(app)) if health.apps_sharing_app_id else [],
        # "6 failed" says little without why.
        "failed_reason": failed_reason_top(app) if health.failed_24h else "",
    }


@organization_required
@require_GET
def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    """The overview: health, the circuit, open problems and the history chart.

    htmx asks for it again every few seconds; it then gets only the live numbers, and only
    they are read.
    """
    app = app_get_for_request(request, app_id)
    context = _overview_live_context(app)
    if is_htmx(request):
        return vary_on_htmx(render(request, "apps/_overview_live.html", context))
    return vary_on_htmx(render(request, "apps/detail.html", {**context, **app_overview_panels(app)}))


@organization_required
@require_GET
def app_mappings(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    return render(request, "apps/mappings.html", {"app": app, **_mapping_context(app)})


@organization_required
@require_GET
def app_settings(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    context = {
        "app": app,
        "circuit": circuits_view([app.pk], timezone.now())[app.pk],
        "token_unreadable": app_token_unreadable(app),
        "test_event_result": test_event_result_take(request, app),
        "write_keys": write_keys_for_app(app),
    }
    return render(request, "apps/settings.html", context)


@organization_required
@require_http_methods(["GET", "POST"])
def app_delete(request: HttpRequest, app_id: int) -> HttpResponse:
    """Owners only: a confirm page, then the archive (trackerui/dashboard/services.py::app_archive)."""
    # The app first: another organization's app is a 404 for everyone, a member's try a 403.
    app = app_get_for_request(request, app_id)
    if not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.DELETE_APPS)
    if request.method == "POST":
        failed = app_archive(app=app)
        ended = f" {failed} waiting {'delivery' if failed == 1 else 'deliveries'} ended failed." if failed else ""
        messages.success(request, f"{app.name} is deleted: it takes no more events and sends nothing.{ended}")
        return redirect("app-list")
    return render(request, "apps/confirm_delete.html", {"app": app})
