"""Per-day delivery history of an app: what became of the deliveries created each UTC day.

Read from the day rollups, never from raw deliveries, so its cost does not grow with them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, timedelta

from django.db.models import Sum
from django.utils import timezone

from delivery.models import Delivery, DeliveryDayRollup
from mappings.models import App

STATS_DEFAULT_DAYS = 14
STATS_MAX_DAYS = 365


def success_rate(delivered: int, failed: int) -> float | None:
    """delivered / (delivered + failed), or None when neither: suppressed, blocked and pending count neither way."""
    finished = delivered + failed
    return delivered / finished if finished else None


@dataclass
class DayCounts:
    """What became of the deliveries created on one UTC day."""

    received: int = 0
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    blocked: int = 0
    # Still on their way: pending and retrying together.
    pending: int = 0

    def add(self, status: str, count: int) -> None:
        self.received += count
        if status in Delivery.SENDABLE:
            self.pending += count
        else:
            setattr(self, status, getattr(self, status) + count)

    def plus(self, other: DayCounts) -> DayCounts:
        return DayCounts(**{name: getattr(self, name) + value for name, value in asdict(other).items()})

    @property
    def success_rate(self) -> float | None:
        """`success_rate`, to four decimals for the API."""
        rate = success_rate(self.delivered, self.failed)
        return None if rate is None else round(rate, 4)

    def as_dict(self) -> dict[str, int | float | None]:
        return {**asdict(self), "success_rate": self.success_rate}


@dataclass
class AppStats:
    days: list[tuple[date, DayCounts]] = field(default_factory=list)

    @property
    def totals(self) -> DayCounts:
        total = DayCounts()
        for _, counts in self.days:
            total = total.plus(counts)
        return total


def stats_days(days: int) -> list[date]:
    """The last `days` UTC days, oldest first, ending today."""
    today = timezone.now().astimezone(UTC).date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def daily_counts(app: App, first_day: date, last_day: date, *, event_field: int | None = None) -> dict[date, DayCounts]:
    """Per-day counts from the app's day rollups (`delivery.history.rollups`), one grouped query.

    The rollups are kept exact by every status change, so this never reads raw deliveries:
    it sums at most 5 Event IDs x 6 statuses rows per day, however many deliveries those
    days had.
    """
    rollups = DeliveryDayRollup.objects.filter(app=app, day__gte=first_day, day__lte=last_day).exclude(count=0)
    if event_field is not None:
        rollups = rollups.filter(event_field=event_field)
    by_day: dict[date, DayCounts] = {}
    for day, status, count in rollups.values_list("day", "status").annotate(total=Sum("count")).order_by():
        by_day.setdefault(day, DayCounts()).add(status, count)
    return by_day


def app_stats(app: App, days: int = STATS_DEFAULT_DAYS, event_field: int | None = None) -> AppStats:
    """One row per UTC day for the last `days` days, oldest first, empty days included.

    With `event_field`, only the deliveries to that Event ID count.
    """
    calendar = stats_days(days)
    counts = daily_counts(app, calendar[0], calendar[-1], event_field=event_field)
    return AppStats(days=[(day, counts.get(day, DayCounts())) for day in calendar])
