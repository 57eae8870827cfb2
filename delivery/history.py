"""Reads for the dashboard's delivery panels: health per app, recent deliveries, the history chart.

`app_health` serves the apps list, so it answers for every app of the list with a fixed
number of grouped queries, however many apps there are. `history_chart` turns
`delivery.selectors.app_stats` into the geometry of a server-rendered SVG bar chart, so
the chart needs no JavaScript and reads the same in the dashboard and in the admin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from delivery.models import Delivery
from delivery.selectors import AppStats, DayCounts, success_rate
from mappings.models import App, Mapping

HEALTH_WINDOW = timedelta(hours=24)
RECENT_DELIVERIES_SHOWN = 10
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


def recent_deliveries(app: App) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(app=app).select_related("event").order_by("-created_at", "-id")
    return deliveries[:RECENT_DELIVERIES_SHOWN]


# What each stacked segment shows, bottom up, with its colour. Inline colours (not CSS
# classes) keep the chart readable in the admin too, which does not load our stylesheet.
CHART_SERIES: list[tuple[str, str, str]] = [
    ("delivered", "Delivered", "#1d7a45"),
    ("failed", "Failed", "#b42318"),
    ("pending", "Pending", "#d99a00"),
    ("suppressed", "Suppressed", "#98a2b3"),
    ("blocked", "Blocked", "#475467"),
]


@dataclass(frozen=True)
class Segment:
    name: str
    label: str
    color: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: date
    counts: DayCounts
    x: float
    width: float
    segments: list[Segment]
    show_label: bool

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def title(self) -> str:
        parts = ", ".join(f"{segment.count} {segment.name}" for segment in self.segments)
        return f"{self.day:%a %d %b}: {self.counts.received} received" + (f" ({parts})" if parts else "")


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float
    right: int
    bars: list[Bar]
    ticks: list[Tick]
    series: list[tuple[str, str, str]]
    empty: bool


CHART_WIDTH = 1040
CHART_HEIGHT = 240
CHART_LEFT = 44
CHART_RIGHT = 8
CHART_TOP = 10
CHART_BOTTOM_MARGIN = 26


def nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def axis_ticks(highest: int) -> list[int]:
    """Round gridline values from 0 to at or above `highest`: at most five, evenly spaced."""
    if highest <= 0:
        return [0, 1, 2, 3, 4]
    step = nice_step(math.ceil(highest / 4))
    return [step * n for n in range(math.ceil(highest / step) + 1)]


def history_chart(stats: AppStats) -> Chart:
    """Stacked bars, one per day: delivered, failed, pending, suppressed and blocked."""
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM_MARGIN
    bottom = CHART_TOP + plot_height
    values = axis_ticks(max((counts.received for _, counts in stats.days), default=0))
    scale = plot_height / values[-1]
    slot = (CHART_WIDTH - CHART_LEFT - CHART_RIGHT) / max(len(stats.days), 1)
    # Every day is labelled up to two weeks; beyond that every n-th, so labels never overlap.
    label_every = max(1, round(len(stats.days) / 14))
    bars = []
    for index, (day, counts) in enumerate(stats.days):
        segments, y = [], float(bottom)
        for name, label, color in CHART_SERIES:
            count = getattr(counts, name)
            if count:
                height = count * scale
                y -= height
                segments.append(Segment(name, label, color, count, round(y, 2), round(height, 2)))
        # Counted from the last day, so today is always labelled.
        bars.append(Bar(day, counts, round(CHART_LEFT + index * slot + slot * 0.18, 2), round(slot * 0.64, 2),
                        segments, show_label=(len(stats.days) - 1 - index) % label_every == 0))
    ticks = [Tick(value, round(bottom - value * scale, 2)) for value in values]
    return Chart(CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_TOP, bottom, CHART_WIDTH - CHART_RIGHT, bars, ticks,
                 CHART_SERIES, empty=not any(counts.received for _, counts in stats.days))
