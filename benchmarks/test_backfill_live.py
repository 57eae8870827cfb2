"""A large backfill never holds up an app's live events (docs/performance.md, "Backfill beside live events").

One app has BENCH_BACKFILL_EVENTS stored events (default 5,000) of a name a new mapping (Event ID 5)
then covers; they are backfilled while a game keeps sending live events of another mapped name
(Event ID 2), BENCH_LIVE_PER_SECOND a second (default 10) for BENCH_LIVE_SECONDS (default 30), in
batches of one, as a game backend would. A real qcluster (4 workers, the deployment's default) sends
everything to the sandbox. Each live
event's latency runs from just before its ingest call to its request's arrival at the sandbox; the
benchmark asserts their p99 is under 1 s, and that the backfill is sent whole, each event once.
The backfill's pace is the setting `BACKFILL_PER_SECOND` (default 20), read from the environment
by the test and the qcluster alike.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from delivery.bulk_insert import rows_insert
from delivery.ingest.backfill import backfill_request
from delivery.ingest.service import events_ingest
from delivery.models import Delivery, TrackedEvent
from mappings.services import mapping_create
from tests.factories import AppFactory
from tests.live_receiver import QCluster, sandbox_as_chartboost, wait_until

BACKFILL = int(os.environ.get("BENCH_BACKFILL_EVENTS", "5000"))
LIVE_PER_SECOND = float(os.environ.get("BENCH_LIVE_PER_SECOND", "10"))
LIVE_SECONDS = float(os.environ.get("BENCH_LIVE_SECONDS", "30"))
P99_CEILING = 1.0
_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "properties")


@pytest.mark.django_db(transaction=True)
def test_live_events_p99_stays_under_a_second_during_a_large_backfill(settings: Settings, tmp_path: Path) -> None:
    app = AppFactory()
    now = int(time.time())
    rows = [(f"stored-{n}", "tutorial_done", now - 3000 + n * 2000 // BACKFILL, "iOS 17.4",
             {"ifa": f"{n + 1:032x}"}, f"{n + 1:032x}", {}) for n in range(BACKFILL)]
    for start in range(0, BACKFILL, 2000):
        rows_insert(TrackedEvent, rows[start:start + 2000], fields=_FIELDS, same={"app": app.pk})
    mapping_create(app=app, event_name="tutorial_done", event_field=5)
    mapping_create(app=app, event_name="area_entered", event_field=2, description_property="area")

    sent_at: dict[str, float] = {}
    # The deployment's default of 4 workers (Q_WORKERS), not the test suite's 2.
    with sandbox_as_chartboost(settings) as sandbox, QCluster(tmp_path / "qcluster.log", Q_WORKERS="4") as cluster:
        time.sleep(3)  # let the cluster start before the clock runs
        backfill = backfill_request(app=app, event_field=5, since=timezone.now() - timedelta(hours=1))
        interval, started, n = 1 / LIVE_PER_SECOND, time.monotonic(), 0
        while time.monotonic() - started < LIVE_SECONDS:
            event_id = f"live-{n}"
            sent_at[event_id] = time.monotonic()
            events_ingest(app=app, events=[{
                "event_id": event_id, "name": "area_entered", "timestamp": int(time.time()), "platform": "iOS 17.4",
                "identifiers": {"ifa": f"{n + 1:032x}"}, "properties": {"area": event_id}}])
            n += 1
            time.sleep(max(0.0, started + n * interval - time.monotonic()))
        done = wait_until(lambda: Delivery.objects.filter(app=app, status="delivered").count() == BACKFILL + n,
                          timeout=BACKFILL / settings.BACKFILL_PER_SECOND + 60, interval=0.5)
        assert done, cluster.log()[-3000:]
        received = list(sandbox.received)

    live = {}
    backfilled = []
    for request in received:
        for item in request.body["track_info"]:
            if item["event_field"] == 2:
                live.setdefault(item["description"], request.arrived_at)
            else:
                backfilled.append(request.body["identifiers"]["ifa"])
    latencies = sorted(live[event_id] - sent_at[event_id] for event_id in sent_at)
    # When the slowest were sent (seconds into the stream) says what held them up.
    slowest = sorted(sent_at, key=lambda event_id: sent_at[event_id] - live[event_id])[:5]
    print("\nslowest live events (sent at, latency):",
          ", ".join(f"{sent_at[e] - started:.1f} s, {(live[e] - sent_at[e]) * 1000:.0f} ms" for e in slowest))
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"\nbackfill of {BACKFILL} ({backfill.count} counted) beside {len(sent_at)} live events: live latency "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms; backfill requests {len(backfilled)}, distinct {len(set(backfilled))}")
    assert backfill.count == BACKFILL
    assert len(backfilled) == len(set(backfilled)) == BACKFILL
    assert p99 < P99_CEILING
