"""Hourly counts that keep history exact and cheap to read (docs/design.md, "History").

`DeliveryRollup` counts, per (app, UTC hour of creation, Event ID, status), how many
deliveries are in that status now. Only `delivery.outbox.state` calls `rollups_adjust`,
inside the transaction of the transition it counts, so the counts never drift from the
rows, even when a delivery changes status weeks after it was created.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection

from delivery.bulk_insert import max_query_params
from delivery.models import DeliveryRollup


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
    """Add each delta to its row, creating rows as needed. Must run inside the transition's transaction.

    One `INSERT ... ON CONFLICT DO UPDATE` adds to the count (the ORM's upsert can only
    overwrite it). Rows are written in key order, so two transactions that touch the
    same rows lock them in the same order and never deadlock on PostgreSQL.
    """
    changes = sorted((key, delta) for key, delta in deltas.items() if delta)
    if not changes:
        return
    meta = DeliveryRollup._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    hour_field = meta.get_field("hour")
    columns = [quote(meta.get_field(name).column) for name in ("app", "hour", "event_field", "status", "count")]
    count = columns[-1]
    per_statement = max(1, max_query_params() // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(changes), per_statement):
            chunk = changes[start:start + per_statement]
            params: list[object] = []
            for key, delta in chunk:
                hour = hour_field.get_db_prep_value(key.hour, connection)
                params += [key.app_id, hour, key.event_field, key.status, delta]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "
                f"ON CONFLICT ({', '.join(columns[:4])}) DO UPDATE SET {count} = {table}.{count} + EXCLUDED.{count}",
                params,
            )
