"""Retries on time with a real qcluster: 2, 4, 8 and 16 s apart, each within a second."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from delivery.models import Delivery
from delivery.sandbox import Reply
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.live_receiver import QCluster, sandbox_as_chartboost, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXPECTED_GAPS = [2, 4, 8, 16]


@pytest.mark.parametrize(
    "failure", [Reply.status(500, "Internal error"), Reply.http_error(500)], ids=["json-status-500", "http-500"]
)
def test_it_retries_2_4_8_and_16_seconds_apart_then_delivers(
    failure: Reply, settings: Settings, tmp_path: Path
) -> None:
    with sandbox_as_chartboost(settings, script=[failure] * 4) as sandbox:
        delivery = DeliveryFactory(event=TrackedEventFactory(app=AppFactory()), next_attempt_at=timezone.now())
        with QCluster(tmp_path / "qcluster.log") as cluster:
            arrivals = sandbox.wait_for(5, timeout=90)
            settled = wait_until(
                lambda: Delivery.objects.filter(pk=delivery.pk, status="delivered").exists(), timeout=10
            )
            assert len(arrivals) == 5 and settled, cluster.log()

    times = [received.arrived_at for received in arrivals]
    gaps = [round(later - earlier, 2) for earlier, later in zip(times, times[1:], strict=False)]
    print(f"measured gaps between attempts ({failure.describe()}): {gaps}")
    for gap, expected in zip(gaps, EXPECTED_GAPS, strict=True):
        assert abs(gap - expected) <= 1, gaps
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 5)
    outcomes = list(delivery.attempts.values_list("outcome", flat=True))
    assert outcomes == ["retry", "retry", "retry", "retry", "delivered"]
