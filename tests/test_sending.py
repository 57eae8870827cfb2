"""Sending deliveries (delivery/outbox/sending.py) to a real Chartboost sandbox on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from delivery import chartboost
from delivery.ingest.service import events_ingest
from delivery.models import Attempt, Delivery
from delivery.outbox.sending import deliveries_send
from delivery.sandbox import ChartboostSandbox, Reply
from mappings.models import App
from tests.concurrency import at_once
from tests.factories import AppFactory, DeliveryFactory, EventPayloadFactory, MappingFactory, TrackedEventFactory
from tests.live_receiver import (
    deliveries_claim,
    events_ingest_kicked,
    refused_url,
    run_queued_sends,
    sandbox_as_chartboost,
)

IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
GAID = "8ccaa247-1177-4c09-8117-c9bec33447d0"


@pytest.fixture
def app(db: None) -> App:
    # No member needed here, and hashing a member's password costs a second per test.
    return AppFactory()


@pytest.fixture
def android_app(db: None) -> App:
    return AppFactory(platform="android")


def due_delivery(**fields: Any) -> Delivery:
    return DeliveryFactory(next_attempt_at=timezone.now(), **fields)


def send_due() -> int:
    token = deliveries_claim()
    assert token is not None, "nothing was due"
    return deliveries_send(token)


def test_an_ios_event_arrives_signed_with_its_ifa_and_exactly_the_reference_keys(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    event = TrackedEventFactory(app=app, platform="iOS 17.4", identifiers={"ifa": IFA}, timestamp=1_700_000_123)
    delivery = due_delivery(event=event)

    assert send_due() == 1

    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.header("Content-Type") == "application/json"
    assert received.header("X-Chartboost-App") == app.chartboost_app_id
    assert received.header("X-Chartboost-Signature") == chartboost.signature(
        app.chartboost_app_id, app.chartboost_app_token, 1_700_000_123
    )
    assert received.body == {
        "track_info": [delivery.item],
        "platform": "iOS 17.4",
        "timestamp": 1_700_000_123,
        "identifiers": {"ifa": IFA},
        "token": app.chartboost_app_token,
        "party": settings.TRACKER_PARTY,
    }
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.lease_token) == ("delivered", 1, "")


def test_an_android_event_carries_its_gaid_and_uuid_and_sdk_version(
    chartboost_sandbox: ChartboostSandbox, android_app: App
) -> None:
    event = TrackedEventFactory(
        app=android_app, platform="Android 14", identifiers={"gaid": GAID, "uuid": "7b7940e5800bfcc2"},
        sdk_version="3.2.3",
    )
    due_delivery(event=event)

    send_due()

    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.body["identifiers"] == {"gaid": GAID, "uuid": "7b7940e5800bfcc2"}
    assert received.body["platform"] == "Android 14"
    assert received.body["sdk_version"] == "3.2.3"


def test_an_event_mapped_to_three_fields_arrives_as_one_request_and_fields_2_and_5_send_level_1_0(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level",
                   sub_level_property="stage")
    MappingFactory(app=app, event_name="level_complete", event_field=2, main_level_property="",
                   description_property="area")
    MappingFactory(app=app, event_name="level_complete", event_field=5, main_level_property="",
                   event_label="FTUE completed?", description="Tutorial Completed")
    payload = EventPayloadFactory(name="level_complete", properties={"level": 7, "stage": 2, "area": "Lunar Caverns"})
    answer = events_ingest_kicked(app=app, events=[payload])
    assert answer["accepted"] == 1

    assert run_queued_sends() == 1

    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.body["timestamp"] == payload["timestamp"]
    items = {item["event_field"]: item for item in received.body["track_info"]}
    assert sorted(items) == [1, 2, 5]
    assert (items[1]["main_level"], items[1]["sub_level"]) == (7, 2)
    assert (items[2]["main_level"], items[2]["sub_level"], items[2]["description"]) == (1, 0, "Lunar Caverns")
    assert (items[5]["main_level"], items[5]["sub_level"]) == (1, 0)
    assert items[5]["event_label"] == "FTUE completed?"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_sdk_version_is_left_out_when_the_event_had_none(chartboost_sandbox: ChartboostSandbox, app: App) -> None:
    due_delivery(event=TrackedEventFactory(app=app, sdk_version=""))
    send_due()
    assert "sdk_version" not in chartboost_sandbox.received[0].body


def test_a_401_fails_at_once_after_one_attempt_with_chartboosts_message_and_a_hint(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.script(Reply.status(401, "Invalid token"))
    delivery = due_delivery(event=TrackedEventFactory(app=app))

    send_due()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 1, None)
    assert "Invalid token" in delivery.reason
    assert "check the app token" in delivery.reason
    attempt = delivery.attempts.get()
    assert (attempt.outcome, attempt.http_status, attempt.response_status) == ("failed", 200, 401)
    assert attempt.response_message == "Invalid token"
    assert deliveries_claim() is None


def test_a_body_that_is_not_json_is_retried_two_seconds_later(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    chartboost_sandbox.script(Reply.not_json())
    delivery = due_delivery(event=TrackedEventFactory(app=app))

    send_due()

    delivery.refresh_from_db()
    attempt = delivery.attempts.get()
    assert delivery.status == "retrying"
    assert "not the JSON status" in attempt.error
    assert attempt.outcome == "retry"
    expected = attempt.started_at + timedelta(milliseconds=attempt.latency_ms) + timedelta(seconds=2)
    assert abs((delivery.next_attempt_at - expected).total_seconds()) < 0.1


def test_an_http_500_is_retried(chartboost_sandbox: ChartboostSandbox, app: App) -> None:
    chartboost_sandbox.script(Reply.http_error(500))
    delivery = due_delivery(event=TrackedEventFactory(app=app))
    send_due()
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert delivery.attempts.get().http_status == 500


def test_a_refused_connection_is_retried(app: App, settings: Settings) -> None:
    settings.CHARTBOOST_ENDPOINT = refused_url()
    delivery = due_delivery(event=TrackedEventFactory(app=app))

    send_due()

    delivery.refresh_from_db()
    attempt = delivery.attempts.get()
    assert delivery.status == "retrying"
    assert attempt.http_status is None
    assert attempt.error.startswith("Could not connect to Chartboost")


def test_an_answer_slower_than_the_read_timeout_is_retried(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    settings.CHARTBOOST_READ_TIMEOUT = 0.3
    chartboost_sandbox.script(Reply.success().after(1.0))
    delivery = due_delivery(event=TrackedEventFactory(app=app))

    send_due()

    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert delivery.attempts.get().error.startswith("Timed out waiting for Chartboost")


def test_every_attempt_is_kept_with_the_token_masked(chartboost_sandbox: ChartboostSandbox, app: App) -> None:
    chartboost_sandbox.script(Reply.status(500, "Busy"))
    delivery = due_delivery(event=TrackedEventFactory(app=app))

    send_due()

    attempt = delivery.attempts.get()
    assert attempt.number == 1
    assert attempt.endpoint == chartboost_sandbox.url
    assert attempt.request_body["token"] == app.chartboost_app_token_hint
    assert attempt.request_headers["X-Chartboost-App"] == app.chartboost_app_id
    assert (attempt.http_status, attempt.response_status, attempt.response_message) == (200, 500, "Busy")
    assert attempt.latency_ms is not None
    stored = json.dumps(list(Attempt.objects.values())[0], default=str)
    assert app.chartboost_app_token not in stored
    assert app.chartboost_app_token not in Delivery.objects.get().reason


def test_a_queue_message_that_runs_twice_sends_once(chartboost_sandbox: ChartboostSandbox, app: App) -> None:
    due_delivery(event=TrackedEventFactory(app=app))
    token = deliveries_claim()

    assert deliveries_send(token) == 1
    assert deliveries_send(token) == 0

    assert len(chartboost_sandbox.received) == 1
    assert Attempt.objects.count() == 1


def test_a_message_whose_deliveries_were_claimed_again_after_the_lease_ran_out_sends_nothing(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    due_delivery(event=TrackedEventFactory(app=app))
    late_token = deliveries_claim()
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)):
        fresh_token = deliveries_claim()
        assert deliveries_send(late_token) == 0
        assert deliveries_send(fresh_token) == 1
    assert len(chartboost_sandbox.received) == 1


def test_deliveries_of_an_app_switched_off_after_they_were_claimed_wait_unsent(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    delivery = due_delivery(event=TrackedEventFactory(app=app))
    token = deliveries_claim()
    App.objects.filter(pk=app.pk).update(delivery_enabled=False)

    assert deliveries_send(token) == 0

    delivery.refresh_from_db()
    assert (delivery.status, delivery.lease_token, delivery.attempt_count) == ("pending", "", 0)
    assert chartboost_sandbox.received == []


def test_a_batch_of_events_goes_out_concurrently_one_request_per_event(settings: Settings, app: App) -> None:
    for _ in range(20):
        due_delivery(event=TrackedEventFactory(app=app))
    with sandbox_as_chartboost(settings, latency_ms=300) as sandbox:
        started = time.monotonic()
        assert send_due() == 20
        elapsed = time.monotonic() - started

    # One after the other this would take 20 x 0.3 s = 6 s.
    assert elapsed < 2.0
    assert len({received.body["identifiers"]["ifa"] for received in sandbox.received}) == 20
    assert Delivery.objects.filter(status="delivered").count() == 20


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_a_slow_answer_is_awaited_so_nobody_sends_it_twice(settings: Settings) -> None:
    settings.DELIVERY_LEASE_SECONDS = 1
    due_delivery(event=TrackedEventFactory(app=AppFactory()))
    claims_meanwhile: list[str | None] = []

    def claim_after_the_first_lease_ran_out() -> None:
        time.sleep(1.6)
        claims_meanwhile.append(deliveries_claim())
        connection.close()

    with sandbox_as_chartboost(settings, script=[Reply.success().after(2.5)]) as sandbox:
        token = deliveries_claim()
        rival = threading.Thread(target=claim_after_the_first_lease_ran_out)
        rival.start()
        assert deliveries_send(token) == 1
        rival.join()

    assert claims_meanwhile == [None]
    assert len(sandbox.received) == 1
    assert Delivery.objects.get().status == "delivered"


def test_requests_not_started_by_the_deadline_are_left_for_the_next_batch(
    settings: Settings, app: App
) -> None:
    for _ in range(3):
        due_delivery(event=TrackedEventFactory(app=app))

    with sandbox_as_chartboost(settings, latency_ms=500) as sandbox:
        token = deliveries_claim()
        assert token is not None
        assert deliveries_send(token, concurrency=1, deadline=0.3) == 1
        assert len(sandbox.received) == 1

    waiting = Delivery.objects.exclude(status="delivered")
    assert waiting.count() == 2
    assert set(waiting.values_list("status", "lease_token", "attempt_count")) == {("pending", "", 0)}
    assert deliveries_claim() is not None, "they are due again at once"


def test_levels_3_5_4_5_6_of_one_device_reach_chartboost_as_3_5_6(
    chartboost_sandbox: ChartboostSandbox, app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    for level in (3, 5, 4, 5, 6):
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(app=app, events=[EventPayloadFactory(name="level_up", properties={"level": level})])

    assert run_queued_sends() == 3

    assert [r.body["track_info"][0]["main_level"] for r in chartboost_sandbox.received] == [3, 5, 6]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered"] * 3 + ["suppressed"] * 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingests_of_the_same_level_send_it_once(chartboost_sandbox: ChartboostSandbox) -> None:
    app = MappingFactory(event_name="level_up", event_field=1, main_level_property="level").app

    def ingest(event_id: str) -> dict[str, Any]:
        return events_ingest(app=app, events=[EventPayloadFactory(event_id=event_id, properties={"level": 7})])

    at_once(ingest, ("same-level-0",), ("same-level-1",))

    run_queued_sends()

    assert len(chartboost_sandbox.received) == 1
    assert chartboost_sandbox.received[0].body["track_info"][0]["main_level"] == 7
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered", "suppressed"]


def test_a_batch_whose_answers_cannot_be_written_stops_sending_and_gives_its_leases_back(
    settings: Settings, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delivery.outbox import state

    for _ in range(40):
        due_delivery(event=TrackedEventFactory(app=app))

    def database_gone(**kwargs: Any) -> set[int]:
        raise RuntimeError("the database went away")

    # Fault injection at the one place answers are written.
    monkeypatch.setattr(state, "answers_record", database_gone)
    with sandbox_as_chartboost(settings, latency_ms=100) as sandbox:
        token = deliveries_claim()
        assert token is not None
        started = time.monotonic()
        with pytest.raises(RuntimeError):
            deliveries_send(token, concurrency=4)
        elapsed = time.monotonic() - started

    assert elapsed < 5, "the batch ended instead of waiting on sending slots"
    assert len(sandbox.received) <= 8, "no request starts once answers cannot be written"
    assert not Delivery.objects.exclude(lease_token="").exists()


def test_a_delivery_given_up_meanwhile_is_not_overwritten_by_a_late_answer(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    from delivery.models import DeliveryRollup
    from delivery.outbox import state

    settings.RETRY_MAX_AGE = 60
    delivery = due_delivery(event=TrackedEventFactory(app=app), status="retrying",
                            retry_window_started_at=timezone.now() - timedelta(seconds=120))
    token = deliveries_claim()
    own = state.deliveries_reclaim(token)
    held = list(Delivery.objects.filter(lease_token=own))
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)):
        assert state.deliveries_give_up_expired(app_id=app.pk, now=timezone.now()) == 1
        now = timezone.now()
        verdict = chartboost.Verdict(chartboost.DELIVERED, http_status=200, response_status=200)
        request = chartboost.SignedRequest("http://x", {}, {})
        state.answers_record(own=own, answers=[state.Answer(held, verdict, request, now, now, 5)])

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    counts = dict(DeliveryRollup.objects.filter(app=app).values_list("status", "count"))
    assert (counts.get("failed"), counts.get("retrying"), counts.get("delivered", 0)) == (1, 0, 0)
