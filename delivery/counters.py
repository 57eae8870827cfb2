"""Counters that are exact across processes and hosts: their names and the one writer.

Counters are rows (`MetricCounter`), added to by `counters_add` inside the transaction of
what they count: ingestion's batch (`delivery/ingest/service.py`), and each write of
answers (`delivery/outbox/state.py::answers_record`). Nothing is kept in a process's
memory, so two web processes and two workers on two hosts read the same figures.
`delivery/metrics.py` reads them for /metrics.
"""

from __future__ import annotations

import bisect
from collections import Counter

from django.db import connection

from delivery.bulk_insert import max_query_params
from delivery.models import MetricCounter

INGESTED = "cbtracker_ingested_events_total"
ATTEMPTS = "cbtracker_attempts_total"
REQUESTS = "cbtracker_requests_total"
DURATION = "cbtracker_attempt_duration_seconds"
# Request durations, in seconds: the histogram's upper bounds (+Inf is implied).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)

Series = tuple[str, str]


def series(name: str, **labels: str) -> Series:
    return name, ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))


def duration_series(seconds: float) -> list[tuple[Series, int]]:
    """What one request of `seconds` adds to the histogram: its bucket, the count and the sum (in ms)."""
    index = bisect.bisect_left(DURATION_BUCKETS, seconds)
    bucket = str(DURATION_BUCKETS[index]) if index < len(DURATION_BUCKETS) else "+Inf"
    return [(series(f"{DURATION}_bucket", le=bucket), 1), (series(f"{DURATION}_count"), 1),
            (series(f"{DURATION}_sum_ms"), round(seconds * 1000))]


def counters_add(deltas: Counter[Series]) -> None:
    """Add to each counter series, creating it as needed. Must run inside the counted write's transaction.

    In key order, so concurrent writers lock the same rows in the same order.
    """
    changes = sorted((key, delta) for key, delta in deltas.items() if delta)
    if not changes:
        return
    quote = connection.ops.quote_name
    meta = MetricCounter._meta
    table = quote(meta.db_table)
    name, labels, value = (quote(meta.get_field(field).column) for field in ("name", "labels", "value"))
    per_statement = max(1, max_query_params() // 3)
    with connection.cursor() as cursor:
        for start in range(0, len(changes), per_statement):
            chunk = changes[start:start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({name}, {labels}, {value}) VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))} "
                f"ON CONFLICT ({name}, {labels}) DO UPDATE SET {value} = {table}.{value} + EXCLUDED.{value}",
                [param for (key, key_labels), delta in chunk for param in (key, key_labels, delta)],
            )
