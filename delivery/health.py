"""Health per app, for the badges on the apps list and in the admin.

`app_health` answers for every app of the list with a fixed number of grouped queries,
however many apps there are, from the hour and day rollups (`delivery.history.rollups`) and
`AppSendingState.last_delivered_at` (kept by `delivery.outbox.state.answers_record`): never a
scan of the raw deliveries, so its cost does not grow with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from delivery.history.rollups import hour_of
from delivery.history.stats import success_rate
from delivery.models import AppSendingState, Delivery, DeliveryDayRollup, DeliveryRollup
from delivery.outbox.circuit import OPEN, CircuitView, circuit_view
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
    circuit: CircuitView = field(default_factory=lambda: circuit_view(None, timezone.now()))
    problems: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Over the last 24 h, like the stats' success rate."""
        return success_rate(self.delivered_24h, self.failed_24h)

    @property
    def level(self) -> str:
        """The badge's colour: danger below 90 % success or with the circuit open, warn for any
        other problem, ok, or muted when idle."""
        rate = self.success_rate
        if (rate is not None and rate < DANGER_BELOW) or self.circuit.state == OPEN:
            return "danger"
        if self.problems:
            return "warn"
        return "ok" if rate is not None else "muted"


def app_health(apps: Iterable[App]) -> dict[int, Health]:
    """Health of each app, keyed by app id, in at most four grouped queries for the whole list.

    Read from the rollups (the last 24 hours from hour rows, what waits from day rows) and each app's
    sending-state row, never from raw deliveries.
    """
    apps = list(apps)
    app_ids = [app.pk for app in apps]
    health = {app_id: Health() for app_id in app_ids}
    if not app_ids:
        return health
    for app_id, status, count in _last_day_finished(app_ids, timezone.now()):
        if status == Delivery.Status.DELIVERED:
            health[app_id].delivered_24h = count
        else:
            health[app_id].failed_24h = count
    for app_id, count in _waiting(app_ids):
        health[app_id].waiting = count
    now = timezone.now()
    queues = AppSendingState.objects.in_bulk(app_ids)
    for app_id in app_ids:
        queue = queues.get(app_id)
        health[app_id].last_delivered_at = queue.last_delivered_at if queue else None
        health[app_id].circuit = circuit_view(queue, now)
    mapped = _apps_with_active_mappings(apps)
    for app in apps:
        health[app.pk].problems = _problems(app, health[app.pk], has_active_mapping=app.pk in mapped)
    return health


def _last_day_finished(app_ids: list[int], now: datetime) -> Iterable[tuple[int, str, int]]:
    """(app id, delivered or failed, count) over the deliveries created in the last 24 h.

    The window is hour-aligned, as the rollups are: it starts at the top of the hour 24 h
    ago, so it covers between 24 and 25 hours. That keeps it a sum of at most
    25 hours x 5 Event IDs x 2 statuses rows per app.
    """
    since = hour_of(now - HEALTH_WINDOW)
    return (
        DeliveryRollup.objects.filter(
            app_id__in=app_ids, hour__gte=since, status__in=(Delivery.Status.DELIVERED, Delivery.Status.FAILED)
        )
        .values("app_id", "status")
        .annotate(total=Sum("count"))
        .order_by()
        .values_list("app_id", "status", "total")
    )


def _waiting(app_ids: list[int]) -> Iterable[tuple[int, int]]:
    """(app id, pending + retrying) over all of the app's days, not only the last one.

    Waiting deliveries can be weeks old (a manual retry makes an old failed delivery
    pending again in its own, old day), so no time window would be exact. Read from the
    day rollups: at most 5 Event IDs x 2 statuses rows per day of history, never a number
    that grows with deliveries.
    """
    return (
        DeliveryDayRollup.objects.filter(app_id__in=app_ids, status__in=Delivery.SENDABLE, count__gt=0)
        .values("app_id")
        .annotate(total=Sum("count"))
        .order_by()
        .values_list("app_id", "total")
    )


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
    # S2S not confirmed is no delivery problem: Chartboost accepts what we send either way, so
    # a full success rate stays green. The app's overview says once what S2S means
    # (templates/apps/_problems.html), and the apps list has a column for it.
    problems = []
    if not app.delivery_enabled:
        problems.append("Delivery paused: new events wait until it is back on")
    if not has_active_mapping:
        problems.append("No active mappings: nothing is sent to Chartboost")
    if health.failed_24h:
        problems.append(f"{health.failed_24h} failed in the last 24 h")
    if health.waiting:
        problems.append(f"{health.waiting} waiting to be sent")
    if health.circuit.state == OPEN:
        problems.append("Chartboost keeps failing for this app: sending is held back, one probe at a time")
    if health.circuit.paused_until:
        problems.append("Chartboost asked us to slow down: sending is paused for a moment")
    return problems


