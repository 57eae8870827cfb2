"""The Chartboost wire format (delivery/chartboost.py), checked against the reference's own example."""

from __future__ import annotations

import json

import pytest

from delivery import chartboost

# The reference's example values ("Building the Request").
APP_ID = "4f7aa26ef77659d869000003"
TOKEN = "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac"
TIMESTAMP = 1423854942
# Computed once by hand: hashlib.sha256(b"action:pia;app:<APP_ID>;token:<TOKEN>;timestamp:<TIMESTAMP>;").hexdigest()
EXPECTED_SIGNATURE = "8bf6648e1ccd67cd5c9a92da4d7957a881a68c01da63c97564354d72e6498d92"

ITEM = chartboost.track_info_item(
    event_label="GameLevel1", event_field=1, main_level=1, sub_level=2, description="GameLevel1"
)


def android_body(**overrides: object) -> dict:
    arguments = {
        "items": [ITEM],
        "app_platform": "android",
        "platform": "Android 5.0.1",
        "timestamp": TIMESTAMP,
        "identifiers": {"gaid": "8ccaa247-1177-4c09-8117-c9bec33447d0", "uuid": "7b7940e5800bfcc2"},
        "token": TOKEN,
        "party": "TUNE",
    }
    return chartboost.request_body(**{**arguments, **overrides})


def test_the_signature_of_the_reference_example_is_the_hand_computed_sha256() -> None:
    assert chartboost.signature(APP_ID, TOKEN, TIMESTAMP) == EXPECTED_SIGNATURE


def test_headers_carry_the_content_type_app_id_and_signature() -> None:
    assert chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP) == {
        "Content-Type": "application/json",
        "X-Chartboost-App": APP_ID,
        "X-Chartboost-Signature": EXPECTED_SIGNATURE,
    }


def test_the_body_is_the_reference_example_plus_a_description() -> None:
    assert android_body() == {
        "track_info": [
            {
                "event_label": "GameLevel1",
                "event_field": 1,
                "main_level": 1,
                "sub_level": 2,
                "description": "GameLevel1",
                "data_type": "level_info",
            }
        ],
        "platform": "Android 5.0.1",
        "timestamp": 1423854942,
        "identifiers": {"gaid": "8ccaa247-1177-4c09-8117-c9bec33447d0", "uuid": "7b7940e5800bfcc2"},
        "token": TOKEN,
        "party": "TUNE",
    }


def test_sdk_version_is_sent_only_when_the_event_had_one() -> None:
    assert "sdk_version" not in android_body(sdk_version="")
    assert android_body(sdk_version="3.2.3")["sdk_version"] == "3.2.3"


def test_an_ios_body_carries_only_the_ifa_as_received() -> None:
    body = android_body(app_platform="ios", identifiers={"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6", "gaid": "x"})
    assert body["identifiers"] == {"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"}


def test_an_android_body_with_only_a_uuid_sends_only_the_uuid() -> None:
    assert android_body(identifiers={"uuid": "7b7940e5800bfcc2"})["identifiers"] == {"uuid": "7b7940e5800bfcc2"}


def test_the_stored_copy_masks_the_token_and_the_wire_copy_does_not() -> None:
    request = chartboost.SignedRequest(
        "https://live.chartboost.com/event_service/v2/level",
        chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP),
        android_body(),
    )
    assert request.redacted_body["token"] == "…5d03794ac"
    assert TOKEN not in json.dumps(request.redacted_body)
    assert json.loads(request.data)["token"] == TOKEN
    assert request.body["token"] == TOKEN


def read(http_status: int, body: object) -> chartboost.Verdict:
    text = body if isinstance(body, str) else json.dumps(body)
    return chartboost.read_answer(http_status, text, app_id=APP_ID)


def test_http_200_with_status_200_is_delivered() -> None:
    verdict = read(200, {"status": 200, "message": "Success"})
    assert (verdict.outcome, verdict.response_status, verdict.response_message) == ("delivered", 200, "Success")


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        (200, {"status": 500, "message": "Internal error"}),
        (200, {"status": 503}),
        (500, "Internal Server Error"),
        (502, {"status": 200}),
        (200, "<html>Bad gateway</html>"),
        (200, ["status", 200]),
        (200, {"message": "no status"}),
        (200, {"status": "200"}),
    ],
    ids=["json-500", "json-503", "http-500", "http-502-even-with-status-200", "html", "json-array",
         "no-status", "status-as-text"],
)
def test_server_errors_and_unreadable_answers_are_retried(http_status: int, body: object) -> None:
    verdict = read(http_status, body)
    assert verdict.outcome == "retry"
    assert verdict.error


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check the app token"),
        (403, "check the app token"),
        (400, "check the mapping"),
        (404, f"does not know app ID {APP_ID}"),
        (418, "see its message"),
    ],
)
def test_any_other_status_fails_at_once_with_chartboosts_message_and_a_hint(status: int, hint: str) -> None:
    verdict = read(200, {"status": status, "message": "Nope"})
    assert verdict.outcome == "failed"
    assert verdict.response_message == "Nope"
    assert hint in verdict.hint
    assert verdict.summary().startswith(f"Chartboost answered status {status} “Nope”: ")


@pytest.mark.parametrize("http_status", [200, 429])
def test_a_429_means_slow_down_it_is_retried_after_the_retry_after_it_gave(http_status: int) -> None:
    verdict = chartboost.read_answer(http_status, json.dumps({"status": 429, "message": "Too many"}), app_id=APP_ID,
                                     retry_after_header="30")
    assert (verdict.outcome, verdict.throttled, verdict.pause_seconds) == ("retry", True, 30.0)
    assert chartboost.retry_after(failed_attempts=1, seconds_since_first_attempt=0, max_age=3600,
                                  pause=verdict.pause_seconds) == 30


def test_a_429_without_retry_after_waits_as_for_any_retry() -> None:
    verdict = read(200, {"status": 429})
    assert (verdict.outcome, verdict.throttled, verdict.pause_seconds) == ("retry", True, None)
    assert chartboost.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert chartboost.retry_after(failed_attempts=1, seconds_since_first_attempt=0, max_age=3600,
                                  pause=verdict.pause_seconds) == 2


def test_a_huge_answer_is_stored_cut_short() -> None:
    verdict = read(502, "x" * 100_000)
    assert len(verdict.response_body) == chartboost.RESPONSE_BODY_LIMIT
