"""The Chartboost sandbox (delivery/sandbox.py) checks requests like the reference and answers like Chartboost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings

from delivery import chartboost
from delivery.sandbox import ChartboostSandbox, Reply
from tests.live_receiver import refused_url

APP_ID = "4f7aa26ef77659d869000003"
TOKEN = "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac"
TIMESTAMP = 1423854942


@pytest.fixture
def sandbox() -> Iterator[ChartboostSandbox]:
    with ChartboostSandbox() as server:
        yield server


def item(**overrides: Any) -> dict[str, Any]:
    return {**chartboost.track_info_item(event_label="Highest level", event_field=1, main_level=2, sub_level=1,
                                         description="The boss level"), **overrides}


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "track_info": [item()],
        "platform": "Android 5.0.1",
        "timestamp": TIMESTAMP,
        "identifiers": {"gaid": "8ccaa247-1177-4c09-8117-c9bec33447d0", "uuid": "7b7940e5800bfcc2"},
        "token": TOKEN,
        "party": "TUNE",
        **overrides,
    }


def post(sandbox: ChartboostSandbox, payload: Any, headers: dict[str, str] | None = None,
         url: str | None = None) -> requests.Response:
    timestamp = payload.get("timestamp", TIMESTAMP) if isinstance(payload, dict) else TIMESTAMP
    sent_headers = headers if headers is not None else chartboost.request_headers(
        app_id=APP_ID, app_token=TOKEN, timestamp=timestamp
    )
    return requests.post(url or sandbox.url, data=json.dumps(payload), headers=sent_headers, timeout=5)


def test_a_request_built_like_the_reference_is_answered_success(sandbox: ChartboostSandbox) -> None:
    response = post(sandbox, body(sdk_version="3.2.3"))
    assert response.status_code == 200
    assert response.json() == {"status": 200, "message": "Success"}
    assert sandbox.received[0].problems == []


def test_a_signature_made_with_another_token_is_answered_401(sandbox: ChartboostSandbox) -> None:
    headers = chartboost.request_headers(app_id=APP_ID, app_token="0" * 64, timestamp=TIMESTAMP)
    response = post(sandbox, body(), headers)
    # Chartboost answers HTTP 200 even for errors.
    assert response.status_code == 200
    assert response.json()["status"] == 401
    assert "X-Chartboost-Signature does not match" in response.json()["message"]


def test_an_app_whose_token_it_knows_is_refused_when_signed_with_another_token() -> None:
    current = "a" * 64
    with ChartboostSandbox(app_tokens={APP_ID: current}) as sandbox:
        # Signed consistently, but with the app's old token: Chartboost checks against the one it holds.
        stale = post(sandbox, body()).json()
        assert stale["status"] == 401 and "not the app's current one" in stale["message"]
        headers = chartboost.request_headers(app_id=APP_ID, app_token=current, timestamp=TIMESTAMP)
        assert post(sandbox, body(token=current), headers).json() == {"status": 200, "message": "Success"}
        other_app = chartboost.request_headers(app_id="5" * 24, app_token=TOKEN, timestamp=TIMESTAMP)
        assert post(sandbox, body(), other_app).json()["status"] == 200


def test_a_signature_over_another_timestamp_is_answered_401(sandbox: ChartboostSandbox) -> None:
    headers = chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP + 1)
    assert post(sandbox, body(), headers).json()["status"] == 401


def test_a_body_sent_as_something_other_than_json_is_answered_400(sandbox: ChartboostSandbox) -> None:
    headers = {**chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP),
               "Content-Type": "application/x-www-form-urlencoded"}
    answer = post(sandbox, body(), headers).json()
    assert answer["status"] == 400
    assert "not application/json" in answer["message"]


def test_missing_headers_are_answered_401_naming_them(sandbox: ChartboostSandbox) -> None:
    answer = post(sandbox, body(), {"Content-Type": "application/json"}).json()
    assert answer["status"] == 401
    assert "X-Chartboost-App" in answer["message"]
    assert "X-Chartboost-Signature" in answer["message"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (body(party=None), "party must name the tracking service"),
        ({k: v for k, v in body().items() if k != "token"}, "missing key 'token'"),
        (body(extra=1), "unexpected key 'extra'"),
        (body(timestamp="1423854942"), "timestamp must be Unix seconds"),
        (body(track_info=[]), "track_info must be a non-empty array"),
        (body(track_info=[item(data_type="level")]), 'data_type must always be "level_info"'),
        (body(track_info=[item(main_level=0)]), "main_level must be a non-zero integer"),
        (body(track_info=[item(sub_level=-1)]), "sub_level must be an integer of 0 or more"),
        (body(track_info=[item(event_field=6)]), "event_field must be 1, 2, 3, 4 or 5"),
        (body(track_info=[item(event_field=5, main_level=3)]), "event_field 5 is not sequential"),
        (body(track_info=[item(colour="red")]), "unexpected key 'colour'"),
        (body(identifiers={}), "identifiers must be an object"),
        (body(identifiers={"gaid": "8ccaa2471177"}), "identifiers.gaid must be in UUID form"),
        (body(identifiers={"ifa": "b1c99c76f014428590cf3a5c99d9dfc6", "uuid": "7b79"}), "carries ifa only"),
        (body(identifiers={"ifa": "not-hex"}), "identifiers.ifa must be 32 hex characters"),
    ],
    ids=["null-party", "no-token", "extra-key", "text-timestamp", "no-items", "data-type", "main-level-0",
         "negative-sub-level", "field-6", "field-5-with-a-level", "extra-item-key", "no-identifiers",
         "gaid-not-uuid", "ifa-and-uuid", "bad-ifa"],
)
def test_a_body_that_breaks_the_reference_is_answered_400_saying_why(
    sandbox: ChartboostSandbox, payload: dict, problem: str
) -> None:
    answer = post(sandbox, payload).json()
    assert answer["status"] == 400
    assert problem in answer["message"]


def test_an_ifa_with_dashes_and_uppercase_is_fine(sandbox: ChartboostSandbox) -> None:
    payload = body(platform="iOS 17.4", identifiers={"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"})
    assert post(sandbox, payload).json()["status"] == 200


def test_a_body_that_is_not_json_is_answered_400(sandbox: ChartboostSandbox) -> None:
    headers = chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP)
    response = requests.post(sandbox.url, data=b"track_info=1", headers=headers, timeout=5)
    assert response.json()["status"] == 400


def test_only_post_to_the_level_path_exists(sandbox: ChartboostSandbox) -> None:
    wrong_path = sandbox.url.replace("/v2/level", "/v1/level")
    assert post(sandbox, body(), url=wrong_path).json()["status"] == 404
    assert requests.get(sandbox.url, timeout=5).json()["status"] == 404


def test_scripted_replies_answer_the_next_requests_in_order_then_checks_resume(sandbox: ChartboostSandbox) -> None:
    sandbox.script(Reply.status(500), Reply.http_error(502), Reply.not_json())
    first, second, third, fourth = (post(sandbox, body()) for _ in range(4))
    assert first.json() == {"status": 500, "message": ""}
    assert second.status_code == 502
    assert third.headers["Content-Type"] == "text/html"
    assert fourth.json()["status"] == 200


def test_fail_first_tries_answers_each_distinct_request_of_the_app_500_once_then_success(
    sandbox: ChartboostSandbox,
) -> None:
    sandbox.fail_first_tries(APP_ID)
    answers = [post(sandbox, body(timestamp=timestamp)).json()["status"]
               for timestamp in (TIMESTAMP, TIMESTAMP + 1, TIMESTAMP, TIMESTAMP + 1, TIMESTAMP)]
    assert answers == [500, 500, 200, 200, 200]


@pytest.mark.parametrize(
    ("option", "http_status", "json_status"),
    [("fail_rate", 200, 500), ("http_500_rate", 500, None), ("reject_rate", 200, 400)],
)
def test_injected_failures_come_at_the_given_rate(option: str, http_status: int, json_status: int | None) -> None:
    with ChartboostSandbox(**{option: 1.0}) as sandbox:
        response = post(sandbox, body())
    assert response.status_code == http_status
    if json_status is not None:
        assert response.json()["status"] == json_status


def test_the_timeout_rate_answers_success_only_after_the_senders_read_timeout() -> None:
    with ChartboostSandbox(timeout_rate=1.0, timeout_seconds=0.5) as sandbox:
        with pytest.raises(requests.Timeout):
            requests.post(sandbox.url, data=json.dumps(body()), timeout=(1, 0.2),
                          headers=chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP))
        assert post(sandbox, body()).json()["status"] == 200
    assert [received.reply.delay for received in sandbox.received] == [0.5, 0.5]


def test_an_outage_of_every_app_is_switched_on_and_off_from_outside(sandbox: ChartboostSandbox) -> None:
    control = sandbox.url.replace("/event_service/v2/level", "/sandbox/outage")
    assert requests.post(control, json={"down": True}, timeout=5).json()["down"] is True
    assert post(sandbox, body()).status_code == 500
    requests.post(control, json={"down": False}, timeout=5)
    assert post(sandbox, body()).status_code == 200
    assert requests.post(control, json={"down": True, "seconds": 0.2}, timeout=5).json()["down"] is True
    time.sleep(0.3)
    record = requests.get(sandbox.url.replace("/event_service/v2/level", "/sandbox/record"), timeout=5).json()
    # The same body twice is one repeat; the control calls are no requests to Chartboost.
    assert record == {"requests": 2, "repeats": 1, "down": False}
    assert requests.post(control, data=b"{}", timeout=5).status_code == 400


def test_every_request_is_recorded_with_its_arrival_time(sandbox: ChartboostSandbox) -> None:
    before = time.monotonic()
    post(sandbox, body())
    post(sandbox, body(timestamp=TIMESTAMP + 5))
    first, second = sandbox.received
    assert before <= first.arrived_at <= second.arrived_at <= time.monotonic()
    assert second.body["timestamp"] == TIMESTAMP + 5
    assert second.header("x-chartboost-app") == APP_ID
    assert first.event_fields == [1]


def test_latency_delays_every_answer() -> None:
    with ChartboostSandbox(latency_ms=200) as sandbox:
        started = time.monotonic()
        post(sandbox, body())
        assert time.monotonic() - started >= 0.2


def test_a_kept_alive_connection_is_reused_without_nagle_delays(sandbox: ChartboostSandbox) -> None:
    session = requests.Session()
    headers = chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP)
    started = time.monotonic()
    for _ in range(20):
        assert session.post(sandbox.url, data=json.dumps(body()), headers=headers, timeout=5).json()["status"] == 200
    elapsed = time.monotonic() - started
    # With Nagle's algorithm on, each keep-alive request would wait ~40 ms for a delayed ACK.
    assert elapsed < 0.5
    assert len({received.client for received in sandbox.received}) == 1


def test_the_command_serves_on_the_given_port_and_logs_each_request() -> None:
    port = int(refused_url().split(":")[2].split("/")[0])
    process = subprocess.Popen(
        [sys.executable, "manage.py", "chartboost_sandbox", "--port", str(port), "--latency-ms", "1",
         "--app-token", f"{APP_ID}:{'0' * 64}"],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert any("listening on" in process.stdout.readline() for _ in range(20))
        url = f"http://127.0.0.1:{port}/event_service/v2/level"
        headers = chartboost.request_headers(app_id=APP_ID, app_token=TOKEN, timestamp=TIMESTAMP)
        # The command was told the app's token is another one.
        answer = requests.post(url, data=json.dumps(body()), headers=headers, timeout=5).json()
        assert answer["status"] == 401
        expected = f"app={APP_ID} fields=1 -> HTTP 200 status 401"
        assert any(expected in process.stdout.readline() for _ in range(20))
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_refuses_failure_rates_that_add_up_to_more_than_one() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "chartboost_sandbox", "--fail-rate", "0.6", "--reject-rate", "0.6"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "add up to more than 1" in result.stderr


def test_the_command_refuses_an_app_token_that_is_not_an_app_id_and_a_token() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "chartboost_sandbox", "--app-token", f"{APP_ID}={TOKEN}"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "--app-token" in result.stderr
