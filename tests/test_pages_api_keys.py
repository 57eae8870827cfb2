"""The API keys page: list by prefix, create (raw key shown once), revoke."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test import Client

from tests.factories import OrganizationFactory
from tests.page_helpers import page_text
from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.selectors import api_key_for_raw
from trackerui.accounts.services import api_key_create


def test_keys_are_listed_by_prefix_with_name_and_status(signed_in_client: Client, organization: Organization) -> None:
    active, _ = api_key_create(organization=organization, name="game backend")
    revoked, _ = api_key_create(organization=organization, name="old server")
    api_key_create(organization=OrganizationFactory(), name="someone else's")
    signed_in_client.post(f"/settings/api-keys/{revoked.pk}/revoke/")
    html = page_text(signed_in_client, "/settings/api-keys/")
    assert f"{active.prefix}…" in html and "game backend" in html
    assert f"{revoked.prefix}…" in html and "revoked" in html
    assert "someone else" not in html
    assert "never" in html


def test_creating_a_key_shows_the_raw_key_once(
    signed_in_client: Client, organization: Organization, member: User
) -> None:
    response = signed_in_client.post("/settings/api-keys/", {"name": "game backend"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    raw_key = re.search(r'<code id="raw-key">(cbt_[0-9a-f]{8}_[\w-]+)</code>', html).group(1)
    assert "This is the only time it is shown" in html
    api_key = api_key_for_raw(raw_key)
    assert (api_key.organization, api_key.name, api_key.created_by) == (organization, "game backend", member)
    assert raw_key not in page_text(signed_in_client, "/settings/api-keys/")


def test_revoking_a_key_stops_it_working(signed_in_client: Client, organization: Organization) -> None:
    api_key, raw_key = api_key_create(organization=organization)
    response = signed_in_client.post(f"/settings/api-keys/{api_key.pk}/revoke/")
    assert response["Location"] == "/settings/api-keys/"
    assert api_key_for_raw(raw_key) is None


def test_revoking_takes_a_post(signed_in_client: Client, organization: Organization) -> None:
    api_key, _ = api_key_create(organization=organization)
    assert signed_in_client.get(f"/settings/api-keys/{api_key.pk}/revoke/").status_code == 405


def test_another_organizations_key_cannot_be_revoked(signed_in_client: Client) -> None:
    api_key, raw_key = api_key_create(organization=OrganizationFactory())
    assert signed_in_client.post(f"/settings/api-keys/{api_key.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=api_key.pk).is_active
