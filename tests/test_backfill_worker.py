"""Backfill with a real qcluster and the sandbox: every stored event is sent exactly once, and a second
backfill sends nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from delivery.ingest.backfill import backfill_request
from delivery.ingest.service import events_ingest
from delivery.models import Backfill, Delivery
from mappings.services import mapping_create
from tests.factories import AppFactory
from tests.live_receiver import QCluster, sandbox_as_chartboost, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STORED = 40


def test_a_backfill_of_40_stored_events_sends_exactly_40_each_once_and_a_second_sends_none(
    settings: Settings, tmp_path: Path
) -> None:
    app = AppFactory()
    now = int(time.time())
    events_ingest(app=app, events=[
        {"event_id": f"stored-{n}", "name": "level_complete", "timestamp": now - 600 + n, "platform": "iOS 17.4",
         "identifiers": {"ifa": f"{n + 1:032x}"}, "properties": {"level": n + 1}}
        for n in range(STORED)
    ])
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    # Stored before the mapping existed: unmapped, nothing sent.
    assert not Delivery.objects.filter(app=app).exists()

    with sandbox_as_chartboost(settings) as sandbox, QCluster(tmp_path / "qcluster.log") as cluster:
        first = backfill_request(app=app, event_field=1, since=timezone.now() - timedelta(hours=1))
        arrivals = sandbox.wait_for(STORED, timeout=60)
        settled = wait_until(lambda: Delivery.objects.filter(app=app, status="delivered").count() == STORED,
                             timeout=20)
        second = backfill_request(app=app, event_field=1, since=timezone.now() - timedelta(hours=1))
        time.sleep(3)
        assert settled, cluster.log()
        received = list(sandbox.received)

    assert (first.count, second.count) == (STORED, 0)
    assert len(arrivals) >= STORED and len(received) == STORED
    levels = sorted(item["main_level"] for request in received for item in request.body["track_info"])
    assert levels == list(range(1, STORED + 1))
    assert Backfill.objects.get(pk=first.pk).created == STORED
    assert Delivery.objects.filter(app=app).count() == STORED
