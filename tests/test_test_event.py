""""Send test event": the service against a real local Chartboost stand-in, and the app page's button."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from pytest_django import Settings

from delivery import chartboost
from delivery.models import Delivery, TrackedEvent
from delivery.outbox import trial_event
from delivery.sandbox import Reply
from mappings.models import App
from tests.factories import AppFactory, MappingFactory
from tests.live_receiver import refused_url, sandbox_as_chartboost
from tests.page_helpers import unescape


def test_it_sends_a_signed_synthetic_event_and_reports_chartboosts_answer(settings: Settings, app: App) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        result = trial_event.test_event_send(app=app)
        [received] = sandbox.received
    verdict = result.verdict

    # The sandbox checked the request as Chartboost would: signature, headers, every body key.
    assert received.problems == []
    assert received.body["token"] == app.chartboost_app_token
    assert received.header("X-Chartboost-App") == app.chartboost_app_id
    assert verdict.outcome == chartboost.DELIVERED and result.delivered
    assert (verdict.http_status, verdict.response_status, verdict.response_message) == (200, 200, "Success")
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert result.url == sandbox.url
    assert result.headers == {
        name: received.header(name) for name in ("Content-Type", "X-Chartboost-App", "X-Chartboost-Signature")
    }
    assert result.body == received.body | {"token": app.chartboost_app_token_hint}
    assert app.chartboost_app_token not in str(result.as_dict())


def test_without_an_active_mapping_it_sends_an_event_id_5_item_labelled_as_a_test(settings: Settings, app: App) -> None:
    MappingFactory(app=app, event_field=1, active=False)
    with sandbox_as_chartboost(settings) as sandbox:
        result = trial_event.test_event_send(app=app)
        [received] = sandbox.received

    assert received.body["track_info"] == [{
        "event_label": "CB Tracker test event", "event_field": 5, "main_level": 1, "sub_level": 0,
        "description": "CB Tracker test event", "data_type": "level_info",
    }]
    # An identifier no real device has, so the test cannot count as a player.
    assert received.body["identifiers"] == {"ifa": trial_event.TEST_DEVICE_ID}
    assert "No active mapping yet" in result.source


def test_with_an_active_mapping_it_sends_what_that_mapping_sends_at_level_1(settings: Settings, app: App) -> None:
    MappingFactory(app=app, event_name="vip_tier", event_field=4, event_label="VIP reward level",
                   main_level_property="tier", sub_level_property="step", description="Gold")
    MappingFactory(app=app, event_name="tutorial", event_field=5, main_level_property="")
    with sandbox_as_chartboost(settings) as sandbox:
        result = trial_event.test_event_send(app=app)
        [received] = sandbox.received

    assert received.body["track_info"] == [{
        "event_label": "VIP reward level", "event_field": 4, "main_level": 1, "sub_level": 0,
        "description": "Gold", "data_type": "level_info",
    }]
    assert "“vip_tier” sends as Event ID 4" in result.source


def test_an_android_app_sends_a_synthetic_gaid_and_uuid(settings: Settings, db: None) -> None:
    app = AppFactory(platform="android")
    with sandbox_as_chartboost(settings) as sandbox:
        trial_event.test_event_send(app=app)
        [received] = sandbox.received
    assert received.problems == []
    assert received.body["identifiers"] == {"gaid": trial_event.TEST_DEVICE_ID, "uuid": trial_event.TEST_LEGACY_UUID}
    assert received.body["platform"] == "Android 14"


def test_it_stores_nothing(settings: Settings, app: App) -> None:
    with sandbox_as_chartboost(settings):
        trial_event.test_event_send(app=app)
    assert not Delivery.objects.exists() and not TrackedEvent.objects.exists()


def test_a_refused_token_is_reported_with_chartboosts_message_and_a_hint(settings: Settings, app: App) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        sandbox.script(Reply.status(401, "Invalid signature"))
        verdict = trial_event.test_event_send(app=app).verdict

    assert verdict.outcome == chartboost.FAILED
    assert (verdict.http_status, verdict.response_status, verdict.response_message) == (200, 401, "Invalid signature")
    assert verdict.hint.startswith("check the app token")


def test_a_refused_connection_is_reported_as_a_clear_error(settings: Settings, app: App) -> None:
    settings.CHARTBOOST_ENDPOINT = refused_url()
    result = trial_event.test_event_send(app=app)
    verdict = result.verdict
    assert verdict.outcome == chartboost.RETRY and not result.answered
    assert verdict.http_status is None
    assert verdict.error.startswith("Could not connect to Chartboost (ConnectionError")
    assert result.url == settings.CHARTBOOST_ENDPOINT


def test_the_button_shows_the_signed_request_with_the_token_masked_and_the_answer(
    settings: Settings, signed_in_client: Client, app: App
) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        response = signed_in_client.post(f"/apps/{app.pk}/test-event/")
        [received] = sandbox.received

    # Back to the Settings tab, where the button is, with the answer first on the page.
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/settings/"
    html = unescape(signed_in_client.get(f"/apps/{app.pk}/settings/").content.decode())
    assert html.index('id="test-event"') < html.index('id="credentials"')
    panel = html[html.index('id="test-event"'):]
    panel = panel[:panel.index("</section>")]
    assert "Chartboost accepted the test event" in panel
    assert f"POST {sandbox.url}" in panel
    assert f"X-Chartboost-App: {app.chartboost_app_id}" in panel
    assert f"X-Chartboost-Signature: {received.header('X-Chartboost-Signature')}" in panel
    assert f'"token": "{app.chartboost_app_token_hint}"' in panel
    assert '"status": 200' in panel and '"message": "Success"' in panel
    assert app.chartboost_app_token not in html
    # Shown once: a reload shows the button again, and sends nothing.
    assert "Chartboost accepted" not in signed_in_client.get(f"/apps/{app.pk}/settings/").content.decode()
    assert len(sandbox.received) == 1


def test_the_button_explains_a_refused_token(settings: Settings, signed_in_client: Client, app: App) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        sandbox.script(Reply.status(401, "Invalid signature"))
        html = unescape(signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True).content.decode())
    assert "Chartboost refused the test event: status 401 “Invalid signature”." in html
    assert f"What to do: check the app token, and that it belongs to Chartboost app ID {app.chartboost_app_id}" in (
        re.sub(r"<[^>]+>", "", html)
    )


def test_the_button_explains_an_endpoint_that_cannot_be_reached(
    settings: Settings, signed_in_client: Client, app: App
) -> None:
    settings.CHARTBOOST_ENDPOINT = refused_url()
    html = unescape(signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True).content.decode())
    assert "Could not connect to Chartboost" in html
    assert "Nothing reached Chartboost." in html


def test_the_results_colour_says_accepted_refused_no_verdict_or_no_answer(settings: Settings, app: App) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        sandbox.script(Reply.success(), Reply.status(401, "Invalid signature"), Reply.not_json())
        levels = [trial_event.test_event_send(app=app).level for _ in range(3)]
    settings.CHARTBOOST_ENDPOINT = refused_url()
    levels.append(trial_event.test_event_send(app=app).level)

    assert levels == ["ok", "danger", "warn", "danger"]


def test_the_panel_and_its_badge_share_one_colour(settings: Settings, signed_in_client: Client, app: App) -> None:
    with sandbox_as_chartboost(settings) as sandbox:
        sandbox.script(Reply.not_json())
        answered = signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True).content.decode()
    settings.CHARTBOOST_ENDPOINT = refused_url()
    unreachable = signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True).content.decode()

    assert 'class="test-result warn"' in answered and '<span class="badge warn">no verdict</span>' in answered
    assert 'class="test-result danger"' in unreachable and '<span class="badge danger">no answer</span>' in unreachable


# A time 10 s into a minute, so the per-minute windows are known in advance. A minute of this
# run's own: with Redis as the cache, counts outlive the test database, and app ids repeat between runs.
TEN_INTO_A_MINUTE = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC) + timedelta(minutes=os.getpid())


def test_an_app_may_send_test_events_per_minute_up_to_the_limit_then_is_told_when_to_try_again(
    settings: Settings, db: None
) -> None:
    settings.TEST_EVENTS_PER_MINUTE = 2
    app, other = AppFactory(), AppFactory()
    with sandbox_as_chartboost(settings) as sandbox, time_machine.travel(TEN_INTO_A_MINUTE, tick=False) as clock:
        trial_event.test_event_send(app=app)
        trial_event.test_event_send(app=app)
        with pytest.raises(trial_event.TestEventLimited) as limited:
            trial_event.test_event_send(app=app)
        # The limit is per app.
        trial_event.test_event_send(app=other)
        assert len(sandbox.received) == 3
        clock.shift(50)
        assert trial_event.test_event_send(app=app).delivered

    assert limited.value.retry_after == 50
    assert str(limited.value) == "This app may send 2 test events a minute, and has sent them: try again in 50 s."


def test_over_the_limit_the_button_shows_a_clear_message_and_sends_nothing(
    settings: Settings, signed_in_client: Client, app: App
) -> None:
    settings.TEST_EVENTS_PER_MINUTE = 1
    with sandbox_as_chartboost(settings) as sandbox, time_machine.travel(TEN_INTO_A_MINUTE, tick=False):
        signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True)
        response = signed_in_client.post(f"/apps/{app.pk}/test-event/", follow=True)
        assert len(sandbox.received) == 1
    html = unescape(response.content.decode())
    assert "This app may send 1 test event a minute, and has sent them: try again in 50 s." in html
    assert "Chartboost accepted the test event" not in html
