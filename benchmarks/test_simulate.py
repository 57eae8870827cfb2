"""Simulate answers within 2 s over a day of a busy app (docs/performance.md, "Simulate").

One app gets BENCH_SIMULATE_EVENTS stored events (default 100,000) of the mapped event name
over the last day, bulk-inserted, from BENCH_SIMULATE_DEVICES devices (default 20,000), a
quarter of which already have a stored level; plus as many events of another name, which the
draft does not read. `POST /api/v1/apps/{id}/simulate/` is timed end to end in process (the
median of BENCH_REQUESTS requests, default 3), with one sequential draft reading its levels
from a property, one event in fifty missing it.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from rest_framework.test import APIClient

from delivery.bulk_insert import rows_insert
from delivery.models import DeviceLevel, TrackedEvent
from tests.api_helpers import api_client_for
from tests.factories import AppFactory

EVENTS = int(os.environ.get("BENCH_SIMULATE_EVENTS", "100000"))
DEVICES = int(os.environ.get("BENCH_SIMULATE_DEVICES", "20000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3"))
CEILING_SECONDS = 2.0
_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "properties")
DRAFT = {"event_name": "level_complete", "event_field": 1, "main_level_property": "level",
         "sub_level_property": "stage", "description_property": "level_name"}


@pytest.mark.django_db
def test_simulate_answers_within_2_seconds_over_a_day_of_a_busy_app() -> None:
    app = AppFactory()
    now = int(time.time())
    for name in ("level_complete", "session_start"):
        rows = []
        for n in range(EVENTS):
            device = f"{n % DEVICES:032x}"
            properties = {"stage": n % 3, "level_name": f"Level {n % 50}"}
            if n % 50:
                properties["level"] = 1 + (n // DEVICES) % 200
            rows.append((f"{name}-{n}", name, now - 86000 + n * 86000 // EVENTS, "iOS 17.4", {"ifa": device},
                         device, properties))
        for start in range(0, EVENTS, 5000):
            rows_insert(TrackedEvent, rows[start:start + 5000], fields=_FIELDS, same={"app": app.pk})
    DeviceLevel.objects.bulk_create([
        DeviceLevel(app=app, device=f"{n:032x}", event_field=1, main_level=2, sub_level=0)
        for n in range(0, DEVICES, 4)
    ])
    api: APIClient = api_client_for(app.organization)

    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT], "days": 1}, format="json")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    median = statistics.median(timings)
    print(f"\nsimulate over {EVENTS} stored events ({DEVICES} devices): median {median:.2f} s of {REQUESTS} "
          f"({', '.join(f'{t:.2f}' for t in timings)}); sent {result['sent']}, rejected {result['rejected']}, "
          f"suppressed {result['suppressed']}")
    assert result["matched"] == EVENTS
    assert median < CEILING_SECONDS
