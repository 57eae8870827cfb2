"""Hourly counts that keep history exact and cheap to read (docs/design.md, "History").

`DeliveryRollup` counts, per (app, UTC hour of creation, Event ID, status), how many
deliveries are in that status now; `DeliveryDayRollup` the same per UTC day, so that
long ranges (a month of stats) are read from days and short ones (the last 24 hours)
from hours. Only `delivery.outbox.state` calls `rollups_adjust`,
inside the transaction of the transition it counts, so the counts never drift from the
rows, even when a delivery changes status weeks after it was created.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import NamedTuple

from delivery.bulk_insert import rows_add
from delivery.models import DeliveryDayRollup, DeliveryRollup


class RollupKey(NamedTuple):
    app_id: int
    hour: datetime
    event_field: int
    status: str


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_key(app_id: int, created_at: datetime, event_field: int, status: str) -> RollupKey:
    return RollupKey(app_id, hour_of(created_at), event_field, status)


def rollups_adjust(deltas: Counter[RollupKey]) -> None:
    """Add each delta to its hour's row and its day's row, creating rows as needed.

    Must run inside the transition's transaction. One `INSERT ... ON CONFLICT DO UPDATE`
    per table (`delivery.bulk_insert.rows_add`) adds to the counts (the ORM's upsert can only overwrite them). Rows are
    written in key order, so two transactions that touch the same rows lock them in the
    same order and never deadlock on PostgreSQL.
    """
    hours = sorted((key, delta) for key, delta in deltas.items() if delta)
    if not hours:
        return
    days: Counter[tuple[int, date, int, str]] = Counter()
    for key, delta in hours:
        days[(key.app_id, key.hour.date(), key.event_field, key.status)] += delta
    _counts_add(DeliveryRollup, "hour", [((key.app_id, key.hour, key.event_field, key.status), delta)
                                         for key, delta in hours])
    _counts_add(DeliveryDayRollup, "day", sorted((key, delta) for key, delta in days.items() if delta))


def _counts_add(model: type[DeliveryRollup | DeliveryDayRollup], period: str,
                changes: list[tuple[tuple[int, datetime | date, int, str], int]]) -> None:
    rows_add(model, [(*key, delta) for key, delta in changes], fields=("app", period, "event_field", "status", "count"),
             key=("app", period, "event_field", "status"), add="count")
