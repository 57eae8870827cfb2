"""A worker killed mid-batch loses nothing: what it held goes out after its lease runs out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from delivery.models import Delivery
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.live_receiver import QCluster, sandbox_as_chartboost, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EVENTS = 100
# Up to 32 requests are in flight at once (SEND_CONCURRENCY), each answered after 400 ms, so by
# the 70th arrival the first answers are written down and the rest are in flight or waiting.
KILL_AFTER = 70


def test_a_cluster_killed_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
    settings: Settings, tmp_path: Path
) -> None:
    app = AppFactory()
    for _ in range(EVENTS):
        DeliveryFactory(event=TrackedEventFactory(app=app), next_attempt_at=timezone.now())

    with sandbox_as_chartboost(settings, latency_ms=400) as sandbox:
        first = QCluster(tmp_path / "first.log", DELIVERY_LEASE_SECONDS="3").start()
        try:
            # Kill once the batch is well under way: some answered, some in flight, some not sent yet.
            assert len(sandbox.wait_for(KILL_AFTER, timeout=60)) >= KILL_AFTER, first.log()
        finally:
            first.kill()
        sent_before_kill = set(
            Delivery.objects.filter(status="delivered").values_list("event__identifiers__ifa", flat=True)
        )
        assert Delivery.objects.exclude(status="delivered").exists(), "the kill came too late to test anything"

        sandbox.latency_ms = 0
        with QCluster(tmp_path / "second.log", DELIVERY_LEASE_SECONDS="3") as second:
            all_delivered = wait_until(
                lambda: Delivery.objects.filter(status="delivered").count() == EVENTS, timeout=60
            )
            assert all_delivered, second.log()

    # A request the kill cut off half-way arrives without a readable body; it was never answered.
    whole = [received for received in sandbox.received if received.body is not None]
    arrivals = Counter(received.body["identifiers"]["ifa"] for received in whole)
    print(f"{len(sent_before_kill)} delivered before the kill; {len(whole)} whole requests in all, "
          f"{len(sandbox.received) - len(whole)} cut off by the kill")
    assert len(arrivals) == EVENTS
    # What was written down as delivered before the kill was not sent again.
    assert all(arrivals[ifa] == 1 for ifa in sent_before_kill)
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}
