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

from benchmarks.busy_day import DRAFT, busy_day_store
from tests.api_helpers import api_client_for
from tests.factories import AppFactory

EVENTS = int(os.environ.get("BENCH_SIMULATE_EVENTS", "100000"))
DEVICES = int(os.environ.get("BENCH_SIMULATE_DEVICES", "20000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3"))
CEILING_SECONDS = 2.0


@pytest.mark.django_db
def test_simulate_answers_within_2_seconds_over_a_day_of_a_busy_app() -> None:
    app = AppFactory()
    busy_day_store(app, events=EVENTS, devices=DEVICES)
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
