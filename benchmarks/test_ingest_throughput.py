"""Ingest ≥ 3,000 events/s in batches of 500, on SQLite, through the HTTP endpoint."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from mappings.services import mapping_create
from tests.factories import AppFactory
from trackerui.accounts.services import api_key_create

BATCH = 500
BATCHES = 20
TARGET_EVENTS_PER_SECOND = 3000


def batch(number: int) -> bytes:
    now = int(time.time()) - 60
    events = [
        {
            "event_id": f"b{number}-e{i}",
            "name": "level_complete",
            "timestamp": now,
            "platform": "iOS 17.4",
            "identifiers": {"ifa": f"{number + 1:08x}{i:024x}"},
            "properties": {"level": i % 50 + 1, "stage": 2, "area": "Lunar Caverns"},
        }
        for i in range(BATCH)
    ]
    return json.dumps({"events": events}).encode()


@pytest.mark.django_db(transaction=True)
def test_ingest_takes_at_least_3000_events_per_second_in_batches_of_500() -> None:
    app = AppFactory()
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level",
                   sub_level_property="stage")
    mapping_create(app=app, event_name="level_complete", event_field=2, description_property="area")
    _, key = api_key_create(organization=app.organization)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    bodies = [batch(n) for n in range(BATCHES)]
    url = f"/api/v1/apps/{app.pk}/events/"
    client.post(url, batch(999), content_type="application/json")  # warm up
    started = time.perf_counter()
    for body in bodies:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 202, response.content[:300]
        assert response.json()["accepted"] == BATCH
    elapsed = time.perf_counter() - started
    rate = BATCH * BATCHES / elapsed
    print(f"\ningest: {BATCH * BATCHES} events in {elapsed:.2f} s = {rate:,.0f} events/s "
          f"(target {TARGET_EVENTS_PER_SECOND:,})")
    assert rate >= TARGET_EVENTS_PER_SECOND
