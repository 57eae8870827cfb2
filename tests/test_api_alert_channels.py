"""Alert channels in the API: create, list, delete, test; who may; and where a channel may send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core import mail
from pytest_django import Settings
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from delivery.alerts.models import Alert, AlertChannel
from tests.alert_receiver import AlertReceiver
from tests.api_helpers import api_client_for
from tests.factories import OrganizationFactory
from trackerui.accounts.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as server:
        yield server


@pytest.fixture
def debug(settings: Settings) -> Settings:
    """Local development: http and loopback targets are allowed."""
    settings.DEBUG = True
    return settings


def _create(api: APIClient, kind: str, target: str) -> dict:
    response = api.post("/api/v1/alert-channels/", {"kind": kind, "target": target}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_owner_creates_a_webhook_channel_and_sees_its_secret_once(
    api: APIClient, organization: Organization, debug: Settings, receiver: AlertReceiver
) -> None:
    created = _create(api, "webhook", receiver.url)
    assert created["kind"] == "webhook" and created["target"] == receiver.url
    assert created["secret"].startswith("whsec_")
    channel = AlertChannel.objects.get(pk=created["id"])
    # Stored encrypted, never as given.
    assert created["secret"] not in channel.secret
    listed = api.get("/api/v1/alert-channels/").json()
    assert [row["id"] for row in listed["results"]] == [created["id"]]
    assert "secret" not in listed["results"][0]


def test_each_change_to_a_channel_is_audited_without_its_secret(api: APIClient, debug: Settings) -> None:
    created = _create(api, "webhook", "http://127.0.0.1:9/hook")
    channel = AlertChannel.objects.get(pk=created["id"])
    assert api.delete(f"/api/v1/alert-channels/{channel.pk}/").status_code == 204
    rows = list(AlertChannel.audit_trail.filter(id=channel.pk).order_by("history_id"))
    assert [row.history_type for row in rows] == ["+", "-"]
    assert {row.actor_type for row in rows} == {"api_key"} and {row.source for row in rows} == {"api"}
    assert not hasattr(rows[0], "secret")


def test_an_email_and_a_slack_channel_need_no_secret(api: APIClient, debug: Settings) -> None:
    assert _create(api, "email", "ops@example.com, oncall@example.com")["secret"] == ""
    assert _create(api, "slack", "http://127.0.0.1:9/services/T0/B0/x")["secret"] == ""
    response = api.post("/api/v1/alert-channels/", {"kind": "email", "target": "not an address"}, format="json")
    assert response.status_code == 400 and "target" in response.json()


def test_a_member_sees_channels_and_tests_them_but_may_not_create_or_delete_them(
    api: APIClient, member_api: APIClient, debug: Settings, receiver: AlertReceiver
) -> None:
    created = _create(api, "webhook", receiver.url)
    assert member_api.get("/api/v1/alert-channels/").json()["count"] == 1
    refused = member_api.post("/api/v1/alert-channels/", {"kind": "email", "target": "a@example.com"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only an owner of this organization can create or delete alert channels."
    assert member_api.delete(f"/api/v1/alert-channels/{created['id']}/").status_code == 403
    assert member_api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()["delivered"] is True
    assert AlertChannel.objects.count() == 1


def test_an_ingest_key_may_not_touch_alert_channels(organization: Organization, ingest_api: APIClient) -> None:
    assert ingest_api.get("/api/v1/alert-channels/").status_code == 403
    response = ingest_api.post("/api/v1/alert-channels/", {"kind": "email", "target": "a@example.com"}, format="json")
    assert response.status_code == 403
    assert ingest_api.get("/api/v1/alerts/").status_code == 403


def test_another_organizations_channel_is_not_found(api: APIClient, debug: Settings) -> None:
    theirs = _create(api_client_for(OrganizationFactory()), "email", "them@example.com")
    assert api.get("/api/v1/alert-channels/").json()["count"] == 0
    assert api.delete(f"/api/v1/alert-channels/{theirs['id']}/").status_code == 404
    assert api.post(f"/api/v1/alert-channels/{theirs['id']}/test/").status_code == 404
    assert AlertChannel.objects.filter(pk=theirs["id"]).exists()


def test_a_test_alert_to_a_webhook_is_signed_the_standard_webhooks_way(
    api: APIClient, debug: Settings, receiver: AlertReceiver
) -> None:
    created = _create(api, "webhook", receiver.url)
    answer = api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()
    assert answer["delivered"] is True and answer["http_status"] == 200
    assert answer["answer"] == "HTTP 200: ok" and answer["status"] == "delivered"
    [request] = receiver.received
    payload = Webhook(created["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "test" and payload["link"].startswith("http://127.0.0.1:8000/settings/alerts/")
    assert request.headers["webhook-id"] == f"alert_{answer['id']}"
    # Each attempt is kept, and the alert is listed with what the channel said.
    alert = Alert.objects.get(pk=answer["id"])
    assert [attempt.outcome for attempt in alert.attempts.all()] == ["delivered"]
    assert api.get("/api/v1/alerts/").json()["results"][0]["answer"] == "HTTP 200: ok"


def test_a_test_alert_says_what_a_failing_channel_answered_and_is_not_retried(
    api: APIClient, debug: Settings
) -> None:
    with AlertReceiver(status=500, answer="boom") as receiver:
        created = _create(api, "webhook", receiver.url)
        answer = api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()
    assert answer["delivered"] is False and answer["http_status"] == 500
    assert answer["answer"] == "HTTP 500: boom" and answer["status"] == "failed"
    assert answer["next_attempt_at"] is None


def test_a_test_alert_by_email_goes_through_djangos_mail_settings(api: APIClient, settings: Settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    created = _create(api, "email", "ops@example.com")
    answer = api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()
    assert answer["delivered"] is True and answer["answer"] == "Sent to ops@example.com."
    [message] = mail.outbox
    assert message.to == ["ops@example.com"] and message.subject == "[CB Tracker] Test alert"


def test_a_test_alert_to_slack_is_a_short_text_with_a_link(
    api: APIClient, debug: Settings, receiver: AlertReceiver
) -> None:
    created = _create(api, "slack", receiver.url)
    assert api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()["delivered"] is True
    text = receiver.received[0].json()["text"]
    assert text.startswith("*Test alert*: ") and "<http://127.0.0.1:8000/settings/alerts/|Open in CB Tracker>" in text


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://1.1.1.1/hook", "must be https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://user:pw@1.1.1.1/hook", "user name"),
        ("ftp://1.1.1.1/hook", "http or https"),
    ],
)
def test_with_debug_off_a_url_must_be_https_to_a_public_address(
    api: APIClient, settings: Settings, target: str, why: str
) -> None:
    settings.DEBUG = False
    for kind in ("webhook", "slack"):
        response = api.post("/api/v1/alert-channels/", {"kind": kind, "target": target}, format="json")
        assert response.status_code == 400, response.content
        assert why in response.json()["target"][0]
    assert not AlertChannel.objects.exists()


def test_with_debug_off_an_https_url_to_a_public_address_is_accepted(api: APIClient, settings: Settings) -> None:
    settings.DEBUG = False
    assert _create(api, "webhook", "https://1.1.1.1/hook")["target"] == "https://1.1.1.1/hook"


def test_with_debug_on_http_and_loopback_are_allowed_for_local_development(api: APIClient, debug: Settings) -> None:
    assert _create(api, "webhook", "http://127.0.0.1:8425/hook")["target"] == "http://127.0.0.1:8425/hook"
    assert _create(api, "slack", "http://localhost:8425/slack")["target"] == "http://localhost:8425/slack"


def test_the_target_is_checked_again_when_sending(
    api: APIClient, settings: Settings, receiver: AlertReceiver
) -> None:
    settings.DEBUG = True
    created = _create(api, "webhook", receiver.url)
    settings.DEBUG = False
    answer = api.post(f"/api/v1/alert-channels/{created['id']}/test/").json()
    assert answer["delivered"] is False
    assert answer["answer"] == "Not sent: The URL must be https."
    assert receiver.received == []


def test_a_member_lists_the_alerts_sent(plain_member: User) -> None:
    client = APIClient()
    client.force_login(plain_member)
    assert client.get("/api/v1/alerts/").status_code == 200
