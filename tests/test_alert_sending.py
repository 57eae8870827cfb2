"""Alerts are deliveries of our own: claimed under a lease, retried with backoff for hours, every attempt kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pytest_django import Settings

from delivery.alerts import dispatch, state
from delivery.alerts.channels import alert_channel_create
from delivery.alerts.models import Alert, AlertChannel, Condition
from tests.alert_receiver import AlertReceiver
from tests.factories import AppFactory
from tests.live_receiver import queued_take
from trackerui.accounts.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver(status=503, answer="down") as server:
        yield server


@pytest.fixture
def channel(organization: Organization, settings: Settings, receiver: AlertReceiver) -> AlertChannel:
    settings.DEBUG = True
    settings.ALERT_RETRY_MAX_AGE = 3600
    return alert_channel_create(organization=organization, kind="slack", target=receiver.url).channel


MESSAGE = {"title": "t", "summary": "s", "link": "l"}


def _alert(channel: AlertChannel) -> Alert:
    [alert] = state.alerts_create([state.NewAlert(channel.pk, None, None, "circuit_open", MESSAGE)])
    return alert


def _send_queued() -> int:
    sends = queued_take(dispatch.SEND_TASK)
    for send in sends:
        dispatch.alert_send(*send["args"])
    return len(sends)


def test_a_due_alert_is_claimed_once_and_queued_with_its_lease(channel: AlertChannel) -> None:
    alert = _alert(channel)
    assert dispatch.alerts_queue_due() == 1
    assert dispatch.alerts_queue_due() == 0
    alert.refresh_from_db()
    assert alert.lease_token and alert.lease_until > timezone.now()
    assert [task["args"] for task in queued_take(dispatch.SEND_TASK)] == [(alert.lease_token,)]


def test_an_alert_whose_worker_died_is_claimed_again_once_its_lease_runs_out(channel: AlertChannel) -> None:
    alert = _alert(channel)
    assert dispatch.alerts_queue_due() == 1
    queued_take(dispatch.SEND_TASK)  # the message is lost with its worker
    with time_machine.travel(timezone.now() + timedelta(seconds=state.lease_seconds() - 1)):
        assert dispatch.alerts_queue_due() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=state.lease_seconds() + 1)):
        assert dispatch.alerts_queue_due() == 1
    alert.refresh_from_db()
    assert alert.attempt_count == 0


def test_a_failing_channel_is_retried_after_2_then_4_seconds_and_each_attempt_is_kept(
    channel: AlertChannel, receiver: AlertReceiver
) -> None:
    alert = _alert(channel)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        dispatch.alerts_queue_due()
        assert _send_queued() == 1
        alert.refresh_from_db()
        assert alert.status == "retrying" and alert.answer == "HTTP 503: down"
        assert alert.next_attempt_at == timezone.now() + timedelta(seconds=2)
        clock.shift(timedelta(seconds=2))
        dispatch.alerts_queue_due()
        _send_queued()
        alert.refresh_from_db()
        assert alert.next_attempt_at == timezone.now() + timedelta(seconds=4)
        receiver.status = 200
        clock.shift(timedelta(seconds=4))
        dispatch.alerts_queue_due()
        _send_queued()
    alert.refresh_from_db()
    assert alert.status == "delivered" and alert.next_attempt_at is None
    assert [(a.number, a.outcome, a.http_status) for a in alert.attempts.all()] == [
        (1, "retry", 503), (2, "retry", 503), (3, "delivered", 200)]


def test_an_alert_is_given_up_once_its_retry_window_is_over(channel: AlertChannel) -> None:
    alert = _alert(channel)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(30):
            if not dispatch.alerts_queue_due():
                break
            _send_queued()
            alert.refresh_from_db()
            if alert.next_attempt_at is None:
                break
            clock.move_to(alert.next_attempt_at)
    alert.refresh_from_db()
    assert alert.status == "failed" and alert.answer.startswith(f"Gave up after {alert.attempt_count} attempts")
    assert alert.last_attempt_at - alert.first_attempt_at == timedelta(hours=1)


def test_a_final_answer_is_not_retried(channel: AlertChannel, receiver: AlertReceiver) -> None:
    receiver.status, receiver.answer = 404, "no_service"
    alert = _alert(channel)
    dispatch.alerts_queue_due()
    _send_queued()
    alert.refresh_from_db()
    assert alert.status == "failed" and alert.answer == "HTTP 404: no_service"


def test_a_send_under_a_lease_another_has_taken_over_records_nothing(channel: AlertChannel) -> None:
    alert = _alert(channel)
    dispatch.alerts_queue_due()
    [stale] = queued_take(dispatch.SEND_TASK)
    with time_machine.travel(timezone.now() + timedelta(seconds=state.lease_seconds() + 1)):
        dispatch.alerts_queue_due()
        assert dispatch.alert_send(*stale["args"]) is False
        assert _send_queued() == 1
    alert.refresh_from_db()
    assert alert.attempt_count == 1


def test_a_recovered_never_overtakes_the_alert_it_follows(channel: AlertChannel, receiver: AlertReceiver) -> None:
    episode = Condition.objects.create(app=AppFactory(organization=channel.organization), kind="circuit_open",
                                                started_at=timezone.now())
    [alert] = state.alerts_create([state.NewAlert(channel.pk, None, episode.pk, "circuit_open", MESSAGE)])
    dispatch.alerts_queue_due()
    _send_queued()  # 503: retrying in 2 s
    [recovered] = state.alerts_create([state.NewAlert(channel.pk, None, episode.pk, "recovered", MESSAGE)])
    assert dispatch.alerts_queue_due() == 0
    receiver.status = 200
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        assert dispatch.alerts_queue_due() == 1
        _send_queued()
        assert dispatch.alerts_queue_due() == 1
        _send_queued()
    assert [a.kind for a in Alert.objects.order_by("last_attempt_at", "id")] == ["circuit_open", "recovered"]
    recovered.refresh_from_db()
    assert recovered.status == "delivered"
