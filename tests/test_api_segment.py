"""The Segment-compatible tracking API (delivery/api_segment.py), driven by Segment's and RudderStack's own SDKs.

The SDKs send to a live test server; what they send is ingested by the one ingest service,
then really sent, through the outbox, to the Chartboost sandbox on 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import segment.analytics
import time_machine
from django.test import Client
from pytest_django.live_server_helper import LiveServer
from rudderstack.analytics.client import Client as RudderClient

from delivery import chartboost
from delivery.metrics import metrics_text
from delivery.models import Delivery, RejectionRollup, TrackedEvent
from delivery.sandbox import ChartboostSandbox
from mappings.models import App, WriteKey
from mappings.services import write_key_create, write_key_revoke
from tests.factories import AppFactory, MappingFactory
from tests.live_receiver import run_queued_sends

IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
GAID = "8ccaa247-1177-4c09-8117-c9bec33447d0"
ANDROID_ID = "7b7940e5800bfcc2"
IOS_CONTEXT = {
    "os": {"name": "iOS", "version": "17.4"},
    "device": {"advertisingId": IFA, "adTrackingEnabled": True, "id": "0D9A4E4C-IDFV", "model": "iPhone15,2"},
}
ANDROID_CONTEXT = {
    "os": {"name": "Android", "version": "14"},
    "device": {"advertisingId": GAID, "adTrackingEnabled": True, "id": ANDROID_ID},
}


def with_level_mapping(app: App) -> App:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level",
                   sub_level_property="stage")
    return app


@pytest.fixture
def ios_app(transactional_db: None) -> App:
    return with_level_mapping(AppFactory(platform="ios"))


@pytest.fixture
def android_app(transactional_db: None) -> App:
    return with_level_mapping(AppFactory(platform="android"))


def new_write_key(app: App) -> str:
    return write_key_create(app=app, name="tests")[1]


@pytest.fixture
def segment_client(live_server: LiveServer, ios_app: App) -> segment.analytics.Client:
    """Segment's Python SDK as a customer would set it up: our base URL as its host, and the app's write key."""
    return segment.analytics.Client(write_key=new_write_key(ios_app), host=live_server.url, sync_mode=True,
                                    max_retries=0)


@pytest.fixture
def rudder_client(live_server: LiveServer, android_app: App) -> Iterator[RudderClient]:
    """RudderStack's Python SDK: the data plane URL is our base URL; it gzips what it sends."""
    client = RudderClient(write_key=new_write_key(android_app), host=live_server.url, sync_mode=True,
                          gzip=True, max_retries=0)
    yield client


def a_minute_ago() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def test_an_ios_track_call_from_segments_sdk_arrives_at_chartboost_signed_with_its_ifa_platform_and_level(
    segment_client: segment.analytics.Client, ios_app: App, chartboost_sandbox: ChartboostSandbox
) -> None:
    when = a_minute_ago()
    segment_client.track(user_id="player-1", event="level_up", properties={"level": 4, "stage": 2},
                         context=IOS_CONTEXT, timestamp=when, message_id="seg-msg-1")

    assert run_queued_sends() == 1

    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.header("X-Chartboost-Signature") == chartboost.signature(
        ios_app.chartboost_app_id, ios_app.chartboost_app_token, int(when.timestamp()))
    assert received.body["identifiers"] == {"ifa": IFA}
    assert received.body["platform"] == "iOS 17.4"
    assert received.body["timestamp"] == int(when.timestamp())
    assert received.body["sdk_version"] == segment.analytics.VERSION
    (item,) = received.body["track_info"]
    assert (item["event_field"], item["main_level"], item["sub_level"]) == (1, 4, 2)
    assert TrackedEvent.objects.get().event_id == "seg-msg-1"
    assert Delivery.objects.get().status == "delivered"


def test_an_android_track_call_from_rudderstacks_sdk_arrives_with_its_gaid_and_android_id(
    rudder_client: RudderClient, android_app: App, chartboost_sandbox: ChartboostSandbox
) -> None:
    when = a_minute_ago()
    rudder_client.track(user_id="player-2", event="level_up", properties={"level": 9}, context=ANDROID_CONTEXT,
                        timestamp=when, message_id="rudder-msg-1")

    assert run_queued_sends() == 1

    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.header("X-Chartboost-Signature") == chartboost.signature(
        android_app.chartboost_app_id, android_app.chartboost_app_token, int(when.timestamp()))
    assert received.body["identifiers"] == {"gaid": GAID, "uuid": ANDROID_ID}
    assert received.body["platform"] == "Android 14"
    assert received.body["timestamp"] == int(when.timestamp())
    assert [(i["main_level"], i["sub_level"]) for i in received.body["track_info"]] == [(9, 0)]


def test_a_device_that_opted_out_of_ad_tracking_is_blocked_and_nothing_is_sent(
    segment_client: segment.analytics.Client, chartboost_sandbox: ChartboostSandbox
) -> None:
    opted_out = {**IOS_CONTEXT, "device": {**IOS_CONTEXT["device"], "adTrackingEnabled": False}}
    segment_client.track(user_id="player-3", event="level_up", properties={"level": 2}, context=opted_out,
                         timestamp=a_minute_ago(), message_id="seg-opted-out")

    assert run_queued_sends() == 0
    assert chartboost_sandbox.received == []
    delivery = Delivery.objects.get()
    assert delivery.status == "blocked"
    assert TrackedEvent.objects.get().limit_ad_tracking is True


def test_a_repeated_message_id_is_a_duplicate_and_sent_once(
    segment_client: segment.analytics.Client, chartboost_sandbox: ChartboostSandbox
) -> None:
    for _ in range(2):
        segment_client.track(user_id="player-4", event="level_up", properties={"level": 5}, context=IOS_CONTEXT,
                             timestamp=a_minute_ago(), message_id="seg-retried")

    assert run_queued_sends() == 1
    assert len(chartboost_sandbox.received) == 1
    assert TrackedEvent.objects.count() == 1
    assert 'cbtracker_ingested_events_total{result="duplicate"} 1' in metrics_text()


def test_the_sdks_batches_and_other_call_types_are_taken_in_one_body(
    live_server: LiveServer, ios_app: App, chartboost_sandbox: ChartboostSandbox
) -> None:
    client = segment.analytics.Client(write_key=new_write_key(ios_app), host=live_server.url, max_retries=0,
                                      upload_size=10)
    client.identify(user_id="player-5", traits={"name": "Ana"}, context=IOS_CONTEXT)
    client.screen(user_id="player-5", name="Level select", context=IOS_CONTEXT)
    for level in (1, 2, 3):
        client.track(user_id="player-5", event="level_up", properties={"level": level}, context=IOS_CONTEXT,
                     timestamp=a_minute_ago(), message_id=f"seg-batch-{level}")
    client.flush()
    client.join()

    assert run_queued_sends() >= 1
    assert sorted(r.body["track_info"][0]["main_level"] for r in chartboost_sandbox.received) == [1, 2, 3]
    assert 'cbtracker_ingested_events_total{result="ignored"} 2' in metrics_text()


def basic(raw_key: str) -> str:
    return "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()


def test_a_webhooks_destination_batch_a_bare_array_with_basic_auth_is_ingested_the_same_way(
    live_server: LiveServer, android_app: App, chartboost_sandbox: ChartboostSandbox
) -> None:
    when = a_minute_ago()
    calls = [
        {"type": "identify", "userId": "player-6", "traits": {"plan": "free"}, "messageId": "wh-identify"},
        {"type": "track", "event": "level_up", "userId": "player-6", "messageId": "wh-track-1",
         "timestamp": when.isoformat().replace("+00:00", "Z"), "properties": {"level": 3, "stage": 1},
         "context": {**ANDROID_CONTEXT, "library": {"name": "analytics-android", "version": "4.11.3"}}},
    ]
    response = requests.post(f"{live_server.url}/v1/batch", data=json.dumps(calls), timeout=10,
                             headers={"Authorization": basic(new_write_key(android_app)),
                                      "Content-Type": "application/json"})

    assert response.status_code == 200 and response.json() == {"success": True}
    assert run_queued_sends() == 1
    (received,) = chartboost_sandbox.received
    assert received.problems == []
    assert received.body["identifiers"] == {"gaid": GAID, "uuid": ANDROID_ID}
    assert received.body["platform"] == "Android 14"
    assert received.body["sdk_version"] == "4.11.3"
    assert received.body["timestamp"] == int(when.timestamp())


# What the endpoints answer, and how a call is read, without a live server.


@pytest.fixture
def app(db: None) -> App:
    return with_level_mapping(AppFactory(platform="ios"))


@pytest.fixture
def write_key(app: App) -> str:
    return new_write_key(app)


def track(client: Client, body: Any, *, key: str | None = None, path: str = "/v1/track",
          **headers: str) -> Any:
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = basic(key)
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def call(**overrides: Any) -> dict[str, Any]:
    return {"event": "level_up", "messageId": "m-1", "properties": {"level": 3}, "context": IOS_CONTEXT,
            "timestamp": a_minute_ago().isoformat(), **overrides}


def test_the_write_key_may_come_in_the_body(client: Client, write_key: str) -> None:
    response = track(client, call(writeKey=write_key))
    assert response.status_code == 200 and response.json() == {"success": True}
    assert TrackedEvent.objects.get().event_id == "m-1"


def test_no_key_a_wrong_key_or_a_revoked_key_is_401(client: Client, app: App, write_key: str) -> None:
    assert track(client, call()).status_code == 401
    assert track(client, call(), key="cbw_00000000_nope").status_code == 401
    write_key_revoke(write_key=WriteKey.objects.get(app=app))
    response = track(client, call(), key=write_key)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="write key"'
    assert "detail" in response.json()
    assert TrackedEvent.objects.count() == 0


def test_a_deleted_apps_write_key_is_refused(client: Client, app: App, write_key: str) -> None:
    App.objects.filter(pk=app.pk).update(archived_at=datetime.now(UTC))
    assert track(client, call(), key=write_key).status_code == 401


def test_a_body_that_is_not_json_or_not_calls_is_400(client: Client, write_key: str) -> None:
    assert track(client, b"{not json", key=write_key).status_code == 400
    assert track(client, [call()], key=write_key).status_code == 400
    assert track(client, "a string", key=write_key, path="/v1/batch").status_code == 400
    assert track(client, {"batch": {"no": "list"}}, key=write_key, path="/v1/batch").status_code == 400


def test_a_body_over_500_kb_is_413_even_gzipped(client: Client, write_key: str) -> None:
    big = {"batch": [call(properties={"level": 3, "pad": "x" * 600_000})]}
    assert track(client, big, key=write_key, path="/v1/batch").status_code == 413
    packed = gzip.compress(json.dumps(big).encode())
    assert len(packed) < 500 * 1024
    response = track(client, packed, key=write_key, path="/v1/batch", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413


def test_rejected_calls_answer_success_and_are_counted_with_the_rejections(client: Client, app: App,
                                                                          write_key: str) -> None:
    body = {"batch": [call(messageId=None), call(messageId="m-2", context={"os": {"name": "iOS"}})]}
    del body["batch"][0]["messageId"]
    del body["batch"][1]["context"]
    response = track(client, body, key=write_key, path="/v1/batch")

    assert response.status_code == 200 and response.json() == {"success": True}
    assert TrackedEvent.objects.count() == 0
    reasons = dict(RejectionRollup.objects.filter(app=app).values_list("reason", "count"))
    assert reasons.get("event_id") == 1
    assert 'cbtracker_ingested_events_total{result="rejected"} 2' in metrics_text()


def test_the_batchs_context_goes_under_each_calls_own(client: Client, write_key: str) -> None:
    body = {"batch": [call(context={"device": {"advertisingId": IFA.lower()}})],
            "context": {"os": {"name": "iOS", "version": "16.0"}, "device": {"advertisingId": "ignored"},
                        "library": {"name": "analytics-ios", "version": "4.1.8"}}}
    assert track(client, body, key=write_key, path="/v1/batch").status_code == 200
    event = TrackedEvent.objects.get()
    assert event.platform == "iOS 16.0"
    assert event.sdk_version == "4.1.8"
    assert event.identifiers == {"ifa": IFA.lower()}


def test_without_timestamp_the_original_timestamp_is_corrected_by_the_senders_clock_skew(
    client: Client, write_key: str
) -> None:
    received = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    # The device's clock is 10 minutes fast: it says it sent at 12:10, having seen the event at 12:05.
    body = call(originalTimestamp="2026-12-01T12:05:00.000Z", sentAt="2026-12-01T12:10:00.000Z")
    del body["timestamp"]
    with time_machine.travel(received, tick=False):
        assert track(client, body, key=write_key).status_code == 200
        del body["originalTimestamp"]
        assert track(client, {**body, "messageId": "m-now"}, key=write_key).status_code == 200
    stamps = dict(TrackedEvent.objects.values_list("event_id", "timestamp"))
    assert stamps == {"m-1": int(received.timestamp()) - 5 * 60, "m-now": int(received.timestamp())}


def test_over_the_write_keys_rate_it_answers_429_with_retry_after_and_the_ratelimit_headers(
    client: Client, write_key: str, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "ingest": "2/min"}}
    first = track(client, call(messageId="r-1"), key=write_key)
    assert first["RateLimit-Policy"] == '"ingest";q=2;w=60'
    assert first["RateLimit"].startswith('"ingest";r=1;t=')
    track(client, call(messageId="r-2"), key=write_key)
    refused = track(client, call(messageId="r-3"), key=write_key)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit"].startswith('"ingest";r=0;t=')
    assert TrackedEvent.objects.count() == 2


def test_csrf_is_not_asked_for_even_from_a_signed_in_browser(signed_in_client: Client, write_key: str) -> None:
    signed_in_client.handler.enforce_csrf_checks = True
    assert track(signed_in_client, call(), key=write_key).status_code == 200


def test_an_unknown_v1_path_is_a_json_404(client: Client) -> None:
    response = client.post("/v1/identify", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
