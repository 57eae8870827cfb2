"""Health per app, for the badges on the apps list and in the admin.

`app_health` answers for every app of the list with a fixed number of grouped queries,
however many apps there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from delivery.history.stats import success_rate
from delivery.models import Delivery
from mappings.models import App, Mapping

HEALTH_WINDOW = timedelta(hours=24)
# A success rate under this turns the badge red: most events are not reaching Chartboost.
DANGER_BELOW = 0.9


@dataclass
class Health:
    """How one app's delivery is doing, for its badge on the apps list."""

    delivered_24h: int = 0
    failed_24h: int = 0
    waiting: int = 0
    last_delivered_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Over the last 24 h, like the stats' success rate."""
        return success_rate(self.delivered_24h, self.failed_24h)

    @property
    def level(self) -> str:
        """The badge's colour: danger below 90 % success, warn for any other problem, ok, or muted when idle."""
        rate = self.success_rate
        if rate is not None and rate < DANGER_BELOW:
            return "danger"
        if self.problems:
            return "warn"
        return "ok" if rate is not None else "muted"


def app_health(apps: Iterable[App]) -> dict[int, Health]:
    """Health of each app, keyed by app id, in at most four grouped queries for the whole list."""
    apps = list(apps)
    app_ids = [app.pk for app in apps]
    now = timezone.now()
    health = {app_id: Health() for app_id in app_ids}
    if not app_ids:
        return health
    last_day = (
        Delivery.objects.filter(app_id__in=app_ids, created_at__gte=now - HEALTH_WINDOW)
        .values("app_id")
        .annotate(
            delivered=Count("id", filter=Q(status=Delivery.Status.DELIVERED)),
            failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
        )
        .order_by()
    )
    for row in last_day:
        health[row["app_id"]].delivered_24h = row["delivered"]
        health[row["app_id"]].failed_24h = row["failed"]
    waiting = (
        Delivery.objects.filter(app_id__in=app_ids, status__in=Delivery.SENDABLE)
        .values("app_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in waiting:
        health[row["app_id"]].waiting = row["count"]
    last_delivered = (
        Delivery.objects.filter(app_id__in=app_ids, status=Delivery.Status.DELIVERED)
        .values("app_id")
        .annotate(last=Max("last_attempt_at"))
        .order_by()
    )
    for row in last_delivered:
        health[row["app_id"]].last_delivered_at = row["last"]
    mapped = _apps_with_active_mappings(apps)
    for app in apps:
        health[app.pk].problems = _problems(app, health[app.pk], has_active_mapping=app.pk in mapped)
    return health


def _apps_with_active_mappings(apps: list[App]) -> set[int]:
    """The ids of the apps with an active mapping: from `active_mapping_count` when the apps were
    read with it (`apps_with_active_mapping_counts`), else in one query for the others."""
    mapped = {app.pk for app in apps if getattr(app, "active_mapping_count", 0)}
    unknown = [app.pk for app in apps if not hasattr(app, "active_mapping_count")]
    if unknown:
        mapped.update(
            Mapping.objects.filter(app_id__in=unknown, active=True).values_list("app_id", flat=True).distinct()
        )
    return mapped


def _problems(app: App, health: Health, *, has_active_mapping: bool) -> list[str]:
    problems = []
    if not app.s2s_confirmed:
        problems.append("S2S not confirmed: Chartboost ignores our events until its support switches the app")
    if not app.delivery_enabled:
        problems.append("Delivery paused: new events wait until it is back on")
    if not has_active_mapping:
        problems.append("No active mappings: nothing is sent to Chartboost")
    if health.failed_24h:
        problems.append(f"{health.failed_24h} failed in the last 24 h")
    if health.waiting:
        problems.append(f"{health.waiting} waiting to be sent")
    return problems


