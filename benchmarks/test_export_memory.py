"""The CSV export streams: exporting 100,000 deliveries holds no more memory than exporting 10,000
(docs/performance.md, docs/design.md "Finding deliveries").

Two apps, each in its own organization, get their deliveries bulk-inserted (as in
`test_history_pages.py`) and one attempt each, so every row reads its last answer. Each app
is exported through the real view (`/apps/{id}/deliveries/export.csv`, with an API key), the
body read as it streams and thrown away, as a client writing it to a file would:
- time: wall time of the whole export, without tracing;
- memory: the peak of Python's allocations while streaming (tracemalloc), and the growth of
  the process's resident high-water mark (Linux `/proc/self/clear_refs` resets it first).
For contrast it also measures what holding the same deliveries in a list (as models) would have cost.

Sizes are parameters: BENCH_EXPORT_DELIVERIES (default 100000) and BENCH_EXPORT_SMALL
(default 10000).
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from benchmarks.test_history_pages import app_with_deliveries
from delivery.bulk_insert import rows_insert
from delivery.models import Attempt, Delivery
from delivery.selectors import deliveries_for_app
from mappings.models import App
from trackerui.accounts.models import Organization
from trackerui.accounts.services import api_key_create

LARGE = int(os.environ.get("BENCH_EXPORT_DELIVERIES", "100000"))
SMALL = int(os.environ.get("BENCH_EXPORT_SMALL", "10000"))
MiB = 1024 * 1024
# Flat means the large export's peak is within this of the small one's, whatever the ratio of rows.
FLAT_SLACK_BYTES = 4 * MiB
_ATTEMPT_FIELDS = ("delivery", "number", "started_at", "http_status", "response_status", "response_message",
                   "outcome")


@dataclass(frozen=True)
class ExportFigures:
    rows: int
    megabytes: float
    seconds: float
    peak_traced: int
    rss_growth: int | None


def _with_attempts(app: App) -> App:
    now = timezone.now()
    rows = [
        (delivery_id, 1, now, 200, 200 if status == Delivery.Status.DELIVERED else 400,
         "OK" if status == Delivery.Status.DELIVERED else "=Invalid signature", "delivered")
        for delivery_id, status in Delivery.objects.filter(app=app).values_list("id", "status").iterator()
    ]
    rows_insert(Attempt, rows, fields=_ATTEMPT_FIELDS,
                same={"endpoint": "http://127.0.0.1:8765/event_service/v2/level", "request_headers": {},
                      "request_body": {}, "response_body": "", "error": ""})
    return app


def _rss_high_water_reset() -> int | None:
    """The resident set now, after resetting the high-water mark to it; None where Linux's /proc is missing."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_kib("VmRSS")


def _status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(name)


def _export(client: Client, app: App) -> tuple[int, int]:
    """Rows and bytes of one export, read as it streams."""
    response = client.get(f"/apps/{app.pk}/deliveries/export.csv")
    assert response.status_code == 200 and response.streaming
    size = lines = 0
    for part in response.streaming_content:
        size += len(part)
        lines += part.count(b"\n")
    return lines - 1, size


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def figures(app: App) -> ExportFigures:
    _, key = api_key_create(organization=app.organization, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    started = time.perf_counter()
    rows, size = _export(client, app)
    seconds = time.perf_counter() - started
    rss_before = _rss_high_water_reset()
    peak_traced = _peak(lambda: _export(client, app))
    rss_growth = None if rss_before is None else _status_kib("VmHWM") - rss_before
    return ExportFigures(rows, size / MiB, seconds, peak_traced, rss_growth)


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MiB:.1f} MiB"


@pytest.mark.django_db
def test_exporting_100k_deliveries_holds_no_more_memory_than_10k() -> None:
    started = time.perf_counter()
    small = _with_attempts(app_with_deliveries(Organization.objects.create(name="Small", slug="small"), SMALL))
    large = _with_attempts(app_with_deliveries(Organization.objects.create(name="Large", slug="large"), LARGE))
    built = time.perf_counter() - started

    small_figures, large_figures = figures(small), figures(large)
    held = _peak(lambda: list(deliveries_for_app(large)))

    print(f"\nCSV export (built {SMALL:,} + {LARGE:,} deliveries with an attempt each in {built:.1f} s):")
    for each in (small_figures, large_figures):
        print(f"  {each.rows:>9,} rows: {each.megabytes:6.1f} MiB of CSV in {each.seconds:5.2f} s "
              f"({each.rows / each.seconds:,.0f} rows/s); peak traced {_mib(each.peak_traced)}, "
              f"resident high-water +{_mib(each.rss_growth)}")
    print(f"  for contrast, the same {LARGE:,} deliveries held as models in a list: peak traced {_mib(held)}")

    assert (small_figures.rows, large_figures.rows) == (SMALL, LARGE)
    assert large_figures.peak_traced <= small_figures.peak_traced + FLAT_SLACK_BYTES
    assert large_figures.peak_traced * 10 < held
