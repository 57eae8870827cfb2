"""Deliveries drained at ≥ 20x the reference sender against a receiver with 50 ms latency.

The reference sends one `requests.post` per event, in sequence: at 50 ms each, 20 events/s.
Here a real `qcluster` drains deliveries ingested through the service.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytest_django import Settings

from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox
from mappings.services import mapping_create
from tests.factories import AppFactory
from tests.live_receiver import QCluster, wait_until

EVENTS = 2000
LATENCY_MS = 50
REFERENCE_PER_SECOND = 1000 / LATENCY_MS
TARGET = 20 * REFERENCE_PER_SECOND


@pytest.mark.django_db(transaction=True)
def test_deliveries_drain_at_least_20x_the_reference_sender(settings: Settings, tmp_path: Path) -> None:
    with ChartboostSandbox("127.0.0.1", 0, latency_ms=LATENCY_MS) as sandbox:
        settings.CHARTBOOST_ENDPOINT = sandbox.url
        app = AppFactory(delivery_enabled=False)
        mapping_create(app=app, event_name="level_complete", event_field=5)
        now = int(time.time()) - 60
        for start in range(0, EVENTS, 500):
            events_ingest(app=app, events=[
                {"event_id": f"e{i}", "name": "level_complete", "timestamp": now, "platform": "iOS 17.4",
                 "identifiers": {"ifa": f"{i + 1:032x}"}}
                for i in range(start, start + 500)
            ])
        with QCluster(tmp_path / "qcluster.log", Q_WORKERS="4"):
            time.sleep(3)  # let the cluster start before the clock runs
            # Deliveries of a paused app wait; switched on, the dispatcher sends them all.
            started = time.monotonic()
            app.delivery_enabled = True
            app.save(update_fields=["delivery_enabled"])
            assert wait_until(lambda: len(sandbox.received) >= EVENTS, timeout=120, interval=0.05)
            elapsed = time.monotonic() - started
        rate = EVENTS / elapsed
        print(f"\ndrain: {EVENTS} deliveries in {elapsed:.2f} s = {rate:,.0f}/s; "
              f"reference {REFERENCE_PER_SECOND:.0f}/s; {rate / REFERENCE_PER_SECOND:.1f}x "
              f"(target 20x = {TARGET:.0f}/s)")
        assert Delivery.objects.filter(status="delivered").count() == EVENTS
        assert rate >= TARGET
