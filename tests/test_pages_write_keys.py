"""An app's write keys on its Settings tab (templates/apps/_write_keys.html, mappings/views.py)."""

from __future__ import annotations

from django.test import Client

from mappings.models import App, WriteKey
from mappings.selectors import write_key_for_raw
from mappings.services import write_key_create
from tests.factories import AppFactory, OrganizationFactory


def test_an_owner_creates_a_write_key_and_sees_it_once(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/write-keys/", {"name": "Segment production"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    write_key = WriteKey.objects.get(app=app)
    raw_key = response.context["raw_key"]
    assert raw_key in response.content.decode()
    assert write_key_for_raw(raw_key) == write_key and write_key.name == "Segment production"
    settings_page = signed_in_client.get(f"/apps/{app.pk}/settings/").content.decode()
    assert f"{write_key.prefix}…" in settings_page and raw_key not in settings_page


def test_an_owner_revokes_a_write_key_from_settings(signed_in_client: Client, app: App) -> None:
    write_key, raw_key = write_key_create(app=app)

    response = signed_in_client.post(f"/apps/{app.pk}/write-keys/{write_key.pk}/revoke/")

    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/settings/"
    assert write_key_for_raw(raw_key) is None


def test_a_member_sees_the_keys_but_gets_a_403_creating_or_revoking(plain_member_client: Client, app: App) -> None:
    write_key, _ = write_key_create(app=app)

    page = plain_member_client.get(f"/apps/{app.pk}/settings/").content.decode()
    assert f"{write_key.prefix}…" in page and "Create write key" not in page
    assert plain_member_client.post(f"/apps/{app.pk}/write-keys/").status_code == 403
    assert plain_member_client.post(f"/apps/{app.pk}/write-keys/{write_key.pk}/revoke/").status_code == 403
    assert WriteKey.objects.filter(revoked_at__isnull=True).count() == 1


def test_another_organizations_app_is_404(signed_in_client: Client) -> None:
    theirs = AppFactory(organization=OrganizationFactory())
    write_key, _ = write_key_create(app=theirs)
    assert signed_in_client.post(f"/apps/{theirs.pk}/write-keys/").status_code == 404
    assert signed_in_client.post(f"/apps/{theirs.pk}/write-keys/{write_key.pk}/revoke/").status_code == 404
