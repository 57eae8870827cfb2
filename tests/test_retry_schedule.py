"""The retry schedule: 2, 4, 8, 16 s, then doubling from 32 s up to 15 minutes, until RETRY_MAX_AGE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django import Settings

from delivery import chartboost
from delivery.models import Delivery
from delivery.outbox.recovery import delivery_retry
from delivery.outbox.sending import deliveries_send
from delivery.sandbox import ChartboostSandbox, Reply
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.live_receiver import deliveries_claim

MOMENT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def circuit_out_of_the_way(settings: Settings) -> None:
    # These tests follow one delivery's own schedule. The app's circuit would hold it back
    # after five failures in a row; it has tests of its own (tests/test_circuit.py).
    settings.CIRCUIT_OPEN_AFTER = 1000


@pytest.fixture
def delivery(db: None) -> Delivery:
    return DeliveryFactory(event=TrackedEventFactory(app=AppFactory()), next_attempt_at=MOMENT)


def send_due() -> int:
    token = deliveries_claim()
    return deliveries_send(token) if token else 0


def send_until_nothing_is_due(delivery: Delivery, clock: time_machine.Coordinates) -> None:
    """Send, then jump the clock to each next attempt, until the delivery is settled."""
    while send_due():
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            clock.move_to(delivery.next_attempt_at)
    delivery.refresh_from_db()


def test_it_waits_2_4_8_and_16_seconds_after_the_first_four_failed_attempts() -> None:
    assert [chartboost.retry_delay(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]


def test_then_it_doubles_from_32_seconds_and_never_waits_longer_than_15_minutes() -> None:
    assert [chartboost.retry_delay(n) for n in range(5, 13)] == [32, 64, 128, 256, 512, 900, 900, 900]
    assert chartboost.retry_delay(10_000) == 900


def test_the_last_attempt_is_moved_up_to_land_at_the_max_age_and_then_it_gives_up() -> None:
    max_age = 72 * 3600
    just_in_time = max_age - 900
    assert chartboost.retry_after(failed_attempts=20, seconds_since_first_attempt=just_in_time, max_age=max_age) == 900
    nearly_out = max_age - 899
    assert chartboost.retry_after(failed_attempts=20, seconds_since_first_attempt=nearly_out, max_age=max_age) == 899
    assert chartboost.retry_after(failed_attempts=3, seconds_since_first_attempt=max_age - 1, max_age=max_age) == 1
    assert chartboost.retry_after(failed_attempts=21, seconds_since_first_attempt=max_age, max_age=max_age) is None


def test_each_failed_attempt_is_due_again_on_schedule_and_not_a_moment_before(
    chartboost_sandbox: ChartboostSandbox, delivery: Delivery
) -> None:
    chartboost_sandbox.script(*[Reply.status(500)] * 6)
    waits = []
    with time_machine.travel(MOMENT, tick=False) as clock:
        for _ in range(6):
            assert send_due() == 1
            delivery.refresh_from_db()
            wait = delivery.next_attempt_at - delivery.last_attempt_at
            waits.append(wait.total_seconds())
            clock.move_to(delivery.next_attempt_at - timedelta(milliseconds=1))
            assert deliveries_claim() is None
            clock.move_to(delivery.next_attempt_at)
    assert waits == [2, 4, 8, 16, 32, 64]
    assert delivery.status == "retrying"
    assert list(delivery.attempts.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_a_retry_sends_the_same_body_and_signature_as_the_first_attempt(
    chartboost_sandbox: ChartboostSandbox, delivery: Delivery
) -> None:
    chartboost_sandbox.script(Reply.status(503))
    with time_machine.travel(MOMENT, tick=False) as clock:
        send_due()
        clock.shift(2)
        send_due()
    first, second = chartboost_sandbox.received
    assert first.raw_body == second.raw_body
    assert first.header("X-Chartboost-Signature") == second.header("X-Chartboost-Signature")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)


def test_after_the_max_age_it_fails_saying_it_gave_up_after_n_attempts(
    chartboost_sandbox: ChartboostSandbox, delivery: Delivery, settings: Settings
) -> None:
    settings.RETRY_MAX_AGE = 60
    chartboost_sandbox.script(*[Reply.status(500, "Overloaded")] * 10)
    with time_machine.travel(MOMENT, tick=False) as clock:
        # Attempts at 0, 2, 6, 14 and 30 s; the next, due at 62 s, is moved up to 60 s,
        # the end of the window; after it there is no time left.
        send_until_nothing_is_due(delivery, clock)
    assert delivery.status == "failed"
    assert delivery.reason.startswith("gave up after 6 attempts")
    assert "Overloaded" in delivery.reason
    assert delivery.next_attempt_at is None
    assert len(chartboost_sandbox.received) == 6
    assert [(a.started_at - MOMENT).total_seconds() for a in delivery.attempts.all()] == [0, 2, 6, 14, 30, 60]


def test_a_manual_retry_starts_the_schedule_and_the_window_over(
    chartboost_sandbox: ChartboostSandbox, delivery: Delivery, settings: Settings
) -> None:
    settings.RETRY_MAX_AGE = 60
    chartboost_sandbox.script(*[Reply.status(500, "Overloaded")] * 8)
    with time_machine.travel(MOMENT, tick=False) as clock:
        send_until_nothing_is_due(delivery, clock)
        assert (delivery.status, delivery.attempt_count) == ("failed", 6)
        clock.shift(3600)
        delivery_retry(delivery=delivery)
        send_due()
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert delivery.attempt_count == 7
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() == 2
