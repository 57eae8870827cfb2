"""Health per app: its open problems (`app_problems`) and the badge level derived from them.

`app_problems` is the one rule for what an app's problems are and how much each weighs.
Every surface renders its list: the overview (`templates/apps/_problems.html`), the apps
list's badges, the admin's success history and the app's API answer (`health`), so they
can never disagree. A problem is an `error` (the app is failing), a `warning` (worth a
look) or `info` (shown, but it does not hurt delivery, so it does not lower the badge).

`app_health` gathers the facts for every app of a list with a fixed number of grouped
queries, however many apps there are, from the hour and day rollups
(`delivery.history.rollups`, `delivery.history.rejections`), the event-name catalogue and
each app's `AppSendingState` row: never a scan of the raw deliveries, so its cost does not grow
with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone

from delivery.history.rejections import EventsReceived, events_received_last_24h
from delivery.history.rollups import hour_of
from delivery.history.stats import success_rate
from delivery.models import AppSendingState, Delivery, DeliveryDayRollup, DeliveryRollup, EventName
from delivery.outbox.circuit import OPEN, CircuitView, circuit_view
from delivery.selectors import token_unreadable_in
from delivery.templatetags.delivery_tags import percent
from mappings.models import App, Mapping, same_chartboost_app_id

HEALTH_WINDOW = timedelta(hours=24)
# A success rate under this, or a larger share of events rejected than what it leaves, makes the app
# failing: most of what the game tracks is not reaching Chartboost.
DANGER_BELOW = 0.9

ERROR = "error"
WARNING = "warning"
INFO = "info"
# The badge: its level (also the API's `health.level`), its words, and its colour class.
LEVEL_WORDS = {ERROR: "failing", WARNING: "worth a look", "ok": "healthy", "idle": "idle"}
LEVEL_CLASSES = {ERROR: "danger", WARNING: "warn", "ok": "ok", "idle": "muted"}


@dataclass(frozen=True)
class Problem:
    """One open problem of an app: what it is, how much it weighs, and where it is fixed.

    `headline` and `detail` together are the message (the overview sets the headline in
    bold); `explanation` is said once, on the overview only.
    """

    code: str
    severity: str
    headline: str
    detail: str
    fix_url: str
    fix_label: str
    explanation: str = ""

    @property
    def message(self) -> str:
        return f"{self.headline} {self.detail}"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass
class Health:
    """How one app's delivery is doing: the figures of the last 24 h, and its problems."""

    delivered_24h: int = 0
    failed_24h: int = 0
    waiting: int = 0
    last_delivered_at: datetime | None = None
    circuit: CircuitView = field(default_factory=lambda: circuit_view(None, timezone.now()))
    events: EventsReceived = field(default_factory=EventsReceived)
    mapping_count: int = 0
    active_mapping_count: int = 0
    unmapped_names: int = 0
    # Of those, the names seen in the last 24 h: the game keeps sending them.
    unmapped_names_arriving: int = 0
    apps_sharing_app_id: int = 0
    token_unreadable: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Delivered of attempted (delivered + failed) over the last 24 h, like the stats' success rate."""
        return success_rate(self.delivered_24h, self.failed_24h)

    @property
    def attempted_24h(self) -> int:
        return self.delivered_24h + self.failed_24h

    @property
    def level(self) -> str:
        """`error` or `warning` for the worst problem that hurts delivery; else `ok`, or `idle` when
        nothing was delivered or failed in the last 24 h."""
        return health_level(self.problems, active=self.success_rate is not None)

    @property
    def level_words(self) -> str:
        return LEVEL_WORDS[self.level]

    @property
    def level_class(self) -> str:
        return LEVEL_CLASSES[self.level]

    def as_dict(self) -> dict[str, object]:
        """The app API answer's `health`."""
        return {"level": self.level, "problems": [problem.as_dict() for problem in self.problems]}


def health_level(problems: Iterable[Problem], *, active: bool) -> str:
    severities = {problem.severity for problem in problems}
    for severity in (ERROR, WARNING):
        if severity in severities:
            return severity
    return "ok" if active else "idle"


def app_problems(app: App, health: Health) -> list[Problem]:
    """Every open problem of `app`, worst first, from its health figures: the one rule.

    Problems that do not hurt delivery (S2S not confirmed: Chartboost accepts what we send
    either way; a shared Chartboost app ID) are `info`, shown but never lowering the badge.
    """
    problems = [
        *_sending_problems(app, health),
        *_event_problems(app, health),
        *_setup_problems(app, health),
    ]
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(problems, key=lambda problem: order[problem.severity])


def _sending_problems(app: App, health: Health) -> list[Problem]:
    problems = []
    deliveries = reverse("app-deliveries", args=[app.pk])
    settings_page = reverse("app-settings", args=[app.pk])
    overview = reverse("app-detail", args=[app.pk])
    if health.token_unreadable:
        problems.append(Problem(
            "token-unreadable", ERROR, "Token unreadable:", "nothing is sent until it is entered again.",
            f"{settings_page}#credentials", "Enter the token again"))
    if health.circuit.state == OPEN:
        problems.append(Problem(
            "circuit-open", ERROR, "Circuit open:",
            "Chartboost keeps failing for this app, so sending is held back, one probe at a time.",
            f"{overview}#circuit", "See the circuit"))
    if health.circuit.paused_until:
        problems.append(Problem(
            "slowed-down", WARNING, "Paused by Chartboost:",
            "it asked us to slow down (status 429), so sending waits a moment.", f"{overview}#circuit",
            "See the circuit"))
    if health.failed_24h:
        rate = health.success_rate
        severity = ERROR if rate is not None and rate < DANGER_BELOW else WARNING
        problems.append(Problem(
            "failed", severity, f"{health.failed_24h} failed", "in the last 24 h.", f"{deliveries}?status=failed",
            "Look at the failed deliveries"))
    if health.waiting:
        because = ", because delivery is paused" if not app.delivery_enabled else ""
        # Waiting is pending and retrying together, and the list filters one status at a time: so no
        # filter, newest first.
        problems.append(Problem(
            "waiting", WARNING, f"{health.waiting} waiting", f"to be sent{because}.", deliveries,
            "See the deliveries"))
    if not app.delivery_enabled:
        problems.append(Problem(
            "paused", WARNING, "Delivery is paused:", "new events wait as pending until it is back on.",
            f"{settings_page}#delivery", "Resume delivery"))
    return problems


def _event_problems(app: App, health: Health) -> list[Problem]:
    problems = []
    rejected = health.events.rejected
    if rejected:
        share = health.events.rejected_share or 0
        severity = ERROR if share > 1 - DANGER_BELOW else WARNING
        problems.append(Problem(
            "rejected", severity, f"{rejected} rejected",
            f"event{'s' if rejected != 1 else ''} in the last 24 h ({percent(share)} of {health.events.total} "
            "received): your game sent something we could not take.",
            f"{reverse('app-detail', args=[app.pk])}#rejections", "See why"))
    if health.unmapped_names:
        count = health.unmapped_names
        problems.append(Problem(
            "unmapped", WARNING if health.unmapped_names_arriving else INFO,
            f"{count} tracked event name{'s' if count != 1 else ''}",
            f"not mapped, so Chartboost does not get {'them' if count != 1 else 'it'}.",
            f"{reverse('app-mappings', args=[app.pk])}#unmapped-events", "Map them"))
    return problems


def _setup_problems(app: App, health: Health) -> list[Problem]:
    problems = []
    if not health.active_mapping_count:
        problems.append(Problem(
            "no-mappings", WARNING, "No active mappings:", "nothing is sent to Chartboost.",
            reverse("app-mappings" if health.mapping_count else "mapping-new", args=[app.pk]),
            "Activate a mapping" if health.mapping_count else "Add your first mapping"))
    if not app.s2s_confirmed:
        problems.append(Problem(
            "s2s", INFO, "S2S not confirmed:",
            "what we deliver is accepted but does not show up in Chartboost yet.",
            f"{reverse('app-settings', args=[app.pk])}#s2s-checklist", "What to ask Chartboost",
            explanation="Chartboost ignores server-to-server events for this app until its support switches "
            "the app from SDK to S2S."))
    if health.apps_sharing_app_id:
        others = health.apps_sharing_app_id
        problems.append(Problem(
            "duplicate-app-id", INFO, "Chartboost app ID shared",
            f"with {others} other app{'s' if others != 1 else ''}.",
            f"{reverse('app-detail', args=[app.pk])}#duplicate-app-id", "Details"))
    return problems


def app_health(apps: Iterable[App]) -> dict[int, Health]:
    """Health of each app, keyed by app id, in at most eight grouped queries for the whole list.

    Read from the rollups (the last 24 hours from hour rows, what waits from day rows), the
    rejections' and accepted events' hour rows, the event-name catalogue and each app's queue
    row, never from raw deliveries.
    """
    apps = list(apps)
    app_ids = [app.pk for app in apps]
    health = {app_id: Health() for app_id in app_ids}
    if not app_ids:
        return health
    now = timezone.now()
    for app_id, status, count in _last_day_finished(app_ids, now):
        if status == Delivery.Status.DELIVERED:
            health[app_id].delivered_24h = count
        else:
            health[app_id].failed_24h = count
    for app_id, count in _waiting(app_ids):
        health[app_id].waiting = count
    for app_id, events in events_received_last_24h(app_ids).items():
        health[app_id].events = events
    for app_id, total, active in _mapping_counts(app_ids):
        health[app_id].mapping_count, health[app_id].active_mapping_count = total, active
    for app_id, total, arriving in _unmapped_names(app_ids, now):
        health[app_id].unmapped_names, health[app_id].unmapped_names_arriving = total, arriving
    shared = _shared_chartboost_app_ids(apps)
    queues = AppSendingState.objects.in_bulk(app_ids)
    for app in apps:
        one = health[app.pk]
        queue = queues.get(app.pk)
        one.last_delivered_at = queue.last_delivered_at if queue else None
        one.circuit = circuit_view(queue, now)
        one.token_unreadable = token_unreadable_in(app, queue)
        one.apps_sharing_app_id = shared.get((app.organization_id, app.chartboost_app_id), 1) - 1
        one.problems = app_problems(app, one)
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


def _mapping_counts(app_ids: list[int]) -> Iterable[tuple[int, int, int]]:
    """(app id, mappings, active mappings), in one grouped query."""
    return (
        Mapping.objects.filter(app_id__in=app_ids).values("app_id")
        .annotate(total=Count("id"), active=Count("id", filter=Q(active=True)))
        .order_by().values_list("app_id", "total", "active")
    )


def _unmapped_names(app_ids: list[int], now: datetime) -> Iterable[tuple[int, int, int]]:
    """(app id, event names no mapping uses, those of them seen in the last 24 h), in one grouped query.

    The catalogue has a row per name, not per event, so this grows with the names a game
    uses, never with its events.
    """
    mapped = Mapping.objects.filter(app_id=OuterRef("app_id"), event_name=OuterRef("name"))
    return (
        EventName.objects.filter(app_id__in=app_ids).exclude(Exists(mapped)).values("app_id")
        .annotate(total=Count("id"), arriving=Count("id", filter=Q(last_seen_at__gte=now - HEALTH_WINDOW)))
        .order_by().values_list("app_id", "total", "arriving")
    )


def _shared_chartboost_app_ids(apps: list[App]) -> dict[tuple[int, str], int]:
    """How many live apps have each (organization, Chartboost app ID) of `apps`, in one query."""
    condition = reduce(or_, (same_chartboost_app_id(app.organization_id, app.chartboost_app_id) for app in apps))
    rows = (
        App.objects.filter(condition).values("organization_id", "chartboost_app_id")
        .annotate(apps=Count("id")).order_by().values_list("organization_id", "chartboost_app_id", "apps")
    )
    return {(organization_id, chartboost_app_id): count for organization_id, chartboost_app_id, count in rows}
