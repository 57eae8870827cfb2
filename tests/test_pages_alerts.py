"""The alerts page: owners manage channels, members see and test them, another organization's are not found."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from pytest_django import Settings

from delivery.alerts.channels import alert_channel_create
from delivery.alerts.models import AlertChannel, AlertSettings
from tests.factories import OrganizationFactory
from tests.page_helpers import page_text
from trackerui.accounts.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mail_kept(settings: Settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_settings_nav_links_the_alerts_page(signed_in_client: Client) -> None:
    assert 'href="/settings/alerts/"' in page_text(signed_in_client, "/apps/")


def test_an_owner_adds_an_email_channel(signed_in_client: Client, organization: Organization) -> None:
    response = signed_in_client.post("/settings/alerts/", {"kind": "email", "target": "ops@example.com"}, follow=True)
    assert "Alerts now go to E-mail ops@example.com." in response.content.decode()
    assert AlertChannel.objects.get().organization == organization


def test_a_refused_target_is_shown_next_to_its_field(signed_in_client: Client, settings: Settings) -> None:
    settings.DEBUG = False
    response = signed_in_client.post("/settings/alerts/", {"kind": "webhook", "target": "https://10.0.0.1/x"})
    assert response.status_code == 400
    assert "a private, loopback or link-local address" in response.content.decode()
    assert not AlertChannel.objects.exists()


def test_a_member_sees_and_tests_channels_but_may_not_add_or_delete_them(
    plain_member_client: Client, organization: Organization
) -> None:
    channel = alert_channel_create(organization=organization, kind="email", target="ops@example.com").channel
    page = page_text(plain_member_client, "/settings/alerts/")
    assert "ops@example.com" in page and "Add channel" not in page
    refused = plain_member_client.post("/settings/alerts/", {"kind": "email", "target": "me@example.com"})
    assert refused.status_code == 403 and "create or delete alert channels" in refused.content.decode()
    assert plain_member_client.post(f"/settings/alerts/{channel.pk}/delete/").status_code == 403
    assert plain_member_client.post("/settings/alerts/threshold/", {"success_rate_threshold": 50}).status_code == 403
    tested = plain_member_client.post(f"/settings/alerts/{channel.pk}/test/", follow=True)
    assert "It answered: Sent to ops@example.com." in tested.content.decode()
    assert len(mail.outbox) == 1 and AlertChannel.objects.count() == 1


def test_an_owner_deletes_a_channel_and_sets_the_threshold(
    signed_in_client: Client, organization: Organization
) -> None:
    channel = alert_channel_create(organization=organization, kind="email", target="ops@example.com").channel
    signed_in_client.post(f"/settings/alerts/{channel.pk}/delete/")
    assert not AlertChannel.objects.exists()
    signed_in_client.post("/settings/alerts/threshold/", {"success_rate_threshold": 75})
    assert AlertSettings.objects.get(organization=organization).success_rate_threshold == 75
    assert signed_in_client.post("/settings/alerts/threshold/", {"success_rate_threshold": 0}).status_code == 400


def test_another_organizations_channel_is_not_found(signed_in_client: Client) -> None:
    theirs = alert_channel_create(organization=OrganizationFactory(), kind="email", target="x@example.com").channel
    assert signed_in_client.post(f"/settings/alerts/{theirs.pk}/delete/").status_code == 404
    assert signed_in_client.post(f"/settings/alerts/{theirs.pk}/test/").status_code == 404
    assert "x@example.com" not in page_text(signed_in_client, "/settings/alerts/")
