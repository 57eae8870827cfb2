"""The per-app circuit (delivery/outbox/circuit.py), through the real sender and a sandbox on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pytest_django import Settings

from delivery.models import AppSendingState, Delivery
from delivery.outbox import trial_event
from delivery.outbox.circuit import CircuitPolicy
from delivery.outbox.claims import SEND_TASK, deliveries_dispatch_due
from delivery.outbox.sending import deliveries_send
from delivery.sandbox import ChartboostSandbox, Reply
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.live_receiver import deliveries_claim, queued, run_queued_sends

Status = Delivery.Status


@pytest.fixture(autouse=True)
def policy(settings: Settings) -> CircuitPolicy:
    settings.CIRCUIT_OPEN_AFTER = 3
    settings.CIRCUIT_FIRST_PROBE_SECONDS = 2
    settings.CIRCUIT_MAX_PROBE_SECONDS = 8
    return CircuitPolicy.from_settings()


@pytest.fixture
def app(db: None) -> App:
    return AppFactory()


def due_deliveries(app: App, count: int) -> list[Delivery]:
    return [DeliveryFactory(event=TrackedEventFactory(app=app), next_attempt_at=timezone.now()) for _ in range(count)]


def queue_of(app: App) -> AppSendingState:
    return AppSendingState.objects.get(app=app)


def send_one_by_one() -> int:
    token = deliveries_claim()
    assert token is not None
    return deliveries_send(token, concurrency=1)


def test_the_policy_probes_at_intervals_doubling_from_the_first_up_to_the_cap(policy: CircuitPolicy) -> None:
    intervals = [policy.interval_after(0)]
    for _ in range(4):
        intervals.append(policy.interval_after(intervals[-1]))
    assert intervals == [2, 4, 8, 8, 8]


def test_it_opens_after_repeated_retryable_failures_and_holds_back_the_rest_of_the_batch(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.outage(app.chartboost_app_id, 60)
    due_deliveries(app, 10)

    assert send_one_by_one() == 3

    assert len(chartboost_sandbox.received) == 3
    queue = queue_of(app)
    assert (queue.circuit, queue.failures) == ("open", 3)
    assert queue.next_probe_at == pytest.approx(queue.circuit_since + timedelta(seconds=2), abs=timedelta(seconds=0.1))
    # The seven not sent are still pending, unleased and untried: they wait behind the circuit.
    untried = Delivery.objects.filter(attempt_count=0)
    assert set(untried.values_list("status", "lease_token")) == {(Status.PENDING, "")}
    assert untried.count() == 7


def test_while_open_one_probe_goes_per_interval_and_a_failed_probe_doubles_the_wait(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 10)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send_one_by_one()
        opened_at = queue_of(app).circuit_since

        deliveries_dispatch_due()
        assert queued(SEND_TASK) == [], "no probe before its time"

        clock.move_to(opened_at + timedelta(seconds=2))
        deliveries_dispatch_due()
        deliveries_dispatch_due()
        (probe,) = queued(SEND_TASK)
        assert probe["args"][1] is True
        assert run_queued_sends() == 1
        assert len(chartboost_sandbox.received) == 4

        queue = queue_of(app)
        assert queue.probe_interval == 4
        assert queue.next_probe_at == timezone.now() + timedelta(seconds=4)
        deliveries_dispatch_due()
        assert queued(SEND_TASK) == []


def test_the_first_answered_probe_closes_it_and_the_backlog_is_due_at_once(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 10)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send_one_by_one()
        retrying = Delivery.objects.filter(status=Status.RETRYING)
        assert retrying.count() == 3
        chartboost_sandbox.outage(app.chartboost_app_id, 0)

        clock.move_to(queue_of(app).next_probe_at)
        deliveries_dispatch_due()
        assert run_queued_sends() == 1
        assert queue_of(app).circuit == "closed"
        # Retrying deliveries whose own next attempt is later are due now.
        assert not Delivery.objects.filter(status=Status.RETRYING, next_attempt_at__gt=timezone.now()).exists()

        deliveries_dispatch_due()
        run_queued_sends()
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


def test_another_apps_deliveries_go_out_while_one_apps_circuit_is_open(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    healthy = AppFactory()
    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 5)
    send_one_by_one()
    assert queue_of(app).circuit == "open"

    due_deliveries(healthy, 5)
    deliveries_dispatch_due()
    run_queued_sends()

    assert Delivery.objects.filter(app=healthy, status=Status.DELIVERED).count() == 5
    assert not Delivery.objects.filter(app=app, status=Status.DELIVERED).exists()


def test_a_429_pauses_the_app_for_its_retry_after_and_does_not_count_toward_the_circuit(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.script(*[Reply.slow_down(retry_after=30)] * 5)
    due_deliveries(app, 5)

    assert send_one_by_one() == 1

    queue = queue_of(app)
    assert (queue.circuit, queue.failures) == ("closed", 0)
    assert queue.paused_until == pytest.approx(timezone.now() + timedelta(seconds=30), abs=timedelta(seconds=2))
    (throttled,) = Delivery.objects.filter(status=Status.RETRYING)
    assert throttled.next_attempt_at - throttled.last_attempt_at >= timedelta(seconds=30)
    deliveries_dispatch_due()
    assert queued(SEND_TASK) == [], "nothing goes out while paused"


def test_a_test_event_is_sent_even_while_open_and_its_answer_closes_the_circuit(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 4)
    send_one_by_one()
    assert queue_of(app).circuit == "open"
    chartboost_sandbox.outage(app.chartboost_app_id, 0)

    result = trial_event.test_event_send(app=app)

    assert result.delivered
    assert queue_of(app).circuit == "closed"


def test_time_behind_an_open_circuit_counts_toward_retry_max_age(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    settings.RETRY_MAX_AGE = 60
    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 4)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send_one_by_one()
        clock.shift(timedelta(seconds=61))
        deliveries_dispatch_due()

    given_up = Delivery.objects.filter(status=Status.FAILED)
    assert given_up.count() == 3
    assert all(reason.startswith("gave up after 1 attempts") for reason in given_up.values_list("reason", flat=True))


def test_a_straggler_answer_while_a_probe_is_out_neither_backs_off_nor_frees_the_probe(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    from delivery import chartboost
    from delivery.outbox import circuit

    chartboost_sandbox.outage(app.chartboost_app_id, 600)
    due_deliveries(app, 4)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send_one_by_one()
        clock.move_to(queue_of(app).next_probe_at)
        assert circuit.probe_take(app_id=app.pk, now=timezone.now())
        before = queue_of(app)

        late = chartboost.Verdict(chartboost.RETRY, http_status=500, error="HTTP 500")
        circuit.requests_note(app_id=app.pk, verdicts=[late], now=timezone.now(), source=circuit.BATCH)

        after = queue_of(app)
        assert (after.probe_interval, after.next_probe_at, after.probe_until) == (
            before.probe_interval, before.next_probe_at, before.probe_until)
