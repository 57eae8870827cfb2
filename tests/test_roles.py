"""Owners and members (trackerui/accounts/roles.py): every owner's action is refused to a member
with a 403 that says so, on every path, and nothing changes; an owner and a full API key do each."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox
from mappings.models import App, Mapping
from tests.factories import DeliveryFactory, saved_token
from tests.page_helpers import field_block, page_text
from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.roles import app_credentials_changed, is_owner
from trackerui.accounts.services import api_key_create

TOKEN = "0123456789abcdef" * 4
NEW_APP = {
    "name": "Puzzle Quest (iOS)",
    "platform": "ios",
    "chartboost_app_id": "4f7aa26ef77659d869000003",
    "chartboost_app_token": TOKEN,
    "delivery_enabled": "on",
}


def edit_post(app: App, **changes: str) -> dict[str, str]:
    """The app form as a browser sends it back unchanged (a member's browser omits the disabled
    credential inputs), plus `changes`."""
    post = {"name": app.name, "platform": app.platform}
    if app.delivery_enabled:
        post["delivery_enabled"] = "on"
    return {**post, **changes}


def owner_client(owner: User) -> APIClient:
    client = APIClient()
    client.force_login(owner)
    return client


def test_is_owner_tells_an_owner_from_a_member(member: User, plain_member: User, organization: Organization) -> None:
    assert is_owner(member, organization)
    assert not is_owner(plain_member, organization)


def test_a_credential_is_changed_only_by_a_new_non_blank_value(app: App) -> None:
    assert not app_credentials_changed(app, {"name": "Renamed", "chartboost_app_token": ""})
    assert not app_credentials_changed(app, {"chartboost_app_id": app.chartboost_app_id.upper()})
    assert app_credentials_changed(app, {"chartboost_app_id": "f" * 24})
    assert app_credentials_changed(app, {"chartboost_app_token": "e" * 64})


# Pages


def test_a_member_gets_a_403_page_for_adding_an_app(plain_member_client: Client, organization: Organization) -> None:
    for response in (plain_member_client.get("/apps/new/"), plain_member_client.post("/apps/new/", NEW_APP)):
        assert response.status_code == 403
        assert f"Only an owner of {organization.name} can create apps" in response.content.decode()
    assert not App.objects.exists()


def test_a_member_does_not_see_the_add_app_button(plain_member_client: Client, app: App) -> None:
    assert "/apps/new/" not in page_text(plain_member_client, "/apps/")


def test_a_member_sees_the_credentials_disabled_on_the_edit_form(plain_member_client: Client, app: App) -> None:
    html = page_text(plain_member_client, f"/apps/{app.pk}/edit/")
    for field in ("chartboost_app_id", "chartboost_app_token"):
        assert " disabled" in field_block(html, field)
    assert "Replace token" not in html
    assert " disabled" not in field_block(html, "name")


@pytest.mark.parametrize(
    "changes", [{"chartboost_app_id": "f" * 24}, {"chartboost_app_token": "e" * 64}], ids=["app id", "token"]
)
def test_a_member_posting_new_credentials_on_the_edit_form_gets_a_403_and_nothing_changes(
    plain_member_client: Client, app: App, changes: dict[str, str]
) -> None:
    saved = (app.name, app.chartboost_app_id, saved_token(app))
    response = plain_member_client.post(f"/apps/{app.pk}/edit/", edit_post(app, name="Renamed", **changes))
    assert response.status_code == 403
    assert "can set or replace an app&#x27;s Chartboost credentials" in response.content.decode()
    app.refresh_from_db()
    assert (app.name, app.chartboost_app_id, saved_token(app)) == saved


def test_a_member_can_rename_an_app_and_pause_its_delivery_on_the_edit_form(
    plain_member_client: Client, app: App
) -> None:
    saved = (app.chartboost_app_id, saved_token(app))
    response = plain_member_client.post(f"/apps/{app.pk}/edit/", {"name": "Renamed", "platform": app.platform})
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.delivery_enabled) == ("Renamed", False)
    assert (app.chartboost_app_id, saved_token(app)) == saved


def test_a_member_resending_the_saved_credentials_is_no_change(plain_member_client: Client, app: App) -> None:
    post = edit_post(app, name="Renamed", chartboost_app_id=app.chartboost_app_id.upper(),
                     chartboost_app_token="")
    assert plain_member_client.post(f"/apps/{app.pk}/edit/", post).status_code == 302


def test_a_member_can_pause_delivery_confirm_s2s_and_map_events(plain_member_client: Client, app: App) -> None:
    assert plain_member_client.post(f"/apps/{app.pk}/delivery/").status_code == 302
    assert plain_member_client.post(f"/apps/{app.pk}/s2s-confirm/").status_code == 302
    app.refresh_from_db()
    assert (app.delivery_enabled, app.s2s_confirmed) == (False, True)
    response = plain_member_client.post(f"/apps/{app.pk}/mappings/new/",
                                        {"event_name": "level_up", "event_field": 1, "main_level_value": 1,
                                         "sub_level_value": 0, "active": "on"})
    assert response.status_code == 302
    assert Mapping.objects.filter(app=app, event_name="level_up").exists()


def test_an_owner_can_add_an_app_and_replace_its_credentials(signed_in_client: Client) -> None:
    assert signed_in_client.post("/apps/new/", NEW_APP).status_code == 302
    app = App.objects.get()
    response = signed_in_client.post(f"/apps/{app.pk}/edit/", {**NEW_APP, "chartboost_app_id": "f" * 24,
                                                               "chartboost_app_token": "e" * 64})
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.chartboost_app_id, saved_token(app)) == ("f" * 24, "e" * 64)


def test_a_member_gets_a_403_for_creating_an_api_key(
    plain_member_client: Client, organization: Organization
) -> None:
    response = plain_member_client.post("/settings/api-keys/", {"name": "mine"})
    assert response.status_code == 403
    assert f"Only an owner of {organization.name} can create API keys" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_member_gets_a_403_for_revoking_an_api_key(plain_member_client: Client, organization: Organization) -> None:
    api_key, _ = api_key_create(organization=organization, name="game backend")
    response = plain_member_client.post(f"/settings/api-keys/{api_key.pk}/revoke/")
    assert response.status_code == 403
    assert "can revoke API keys" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.is_active


def test_a_member_sees_the_api_keys_without_create_or_revoke(
    plain_member_client: Client, organization: Organization
) -> None:
    api_key, _ = api_key_create(organization=organization, name="game backend")
    html = page_text(plain_member_client, "/settings/api-keys/")
    assert f"{api_key.prefix}…" in html
    assert "Create key" not in html and f"/settings/api-keys/{api_key.pk}/revoke/" not in html
    assert f"Only an owner of {organization.name} can create or revoke API keys" in html


# API: a member signed in (session), an owner signed in, a full key


def test_a_member_gets_a_403_for_creating_an_app_in_the_api(member_api: APIClient) -> None:
    response = member_api.post("/api/v1/apps/", NEW_APP, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an owner of this organization can create apps."}
    assert not App.objects.exists()


@pytest.mark.parametrize(
    "changes", [{"chartboost_app_id": "f" * 24}, {"chartboost_app_token": "e" * 64},
                {"name": "Renamed", "chartboost_app_token": "e" * 64}],
    ids=["app id", "token", "name and token"],
)
def test_a_member_gets_a_403_for_changing_credentials_in_the_api(
    member_api: APIClient, app: App, changes: dict[str, str]
) -> None:
    saved = (app.name, app.chartboost_app_id, saved_token(app))
    response = member_api.patch(f"/api/v1/apps/{app.pk}/", changes, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an owner of this organization can set or replace an app's "
                                         "Chartboost credentials (app ID and token)."}
    app.refresh_from_db()
    assert (app.name, app.chartboost_app_id, saved_token(app)) == saved


def test_a_member_can_change_name_delivery_and_s2s_in_the_api(member_api: APIClient, app: App) -> None:
    changes = {"name": "Renamed", "delivery_enabled": False, "s2s_confirmed": True,
               "chartboost_app_id": app.chartboost_app_id, "chartboost_app_token": ""}
    response = member_api.patch(f"/api/v1/apps/{app.pk}/", changes, format="json")
    assert response.status_code == 200, response.json()
    app.refresh_from_db()
    assert (app.name, app.delivery_enabled, app.s2s_confirmed) == ("Renamed", False, True)


def test_a_member_gets_a_403_for_deleting_an_app_in_the_api(member_api: APIClient, app: App) -> None:
    response = member_api.delete(f"/api/v1/apps/{app.pk}/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an owner of this organization can delete apps."}
    app.refresh_from_db()
    assert app.archived_at is None


def test_a_member_can_map_events_in_the_api(member_api: APIClient, app: App) -> None:
    response = member_api.post(f"/api/v1/apps/{app.pk}/mappings/",
                               {"event_name": "level_up", "event_field": 1}, format="json")
    assert response.status_code == 201, response.json()


def test_a_member_can_retry_and_recover_deliveries_in_the_api(member_api: APIClient, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.FAILED)
    assert member_api.post(f"/api/v1/deliveries/{delivery.pk}/retry/").status_code == 202
    response = member_api.post(f"/api/v1/apps/{app.pk}/recover/", {"since": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 202


def test_a_member_can_search_export_and_read_the_event_names(
    member_api: APIClient, plain_member_client: Client, app: App
) -> None:
    delivery = DeliveryFactory(event__app=app)
    for path in (f"/api/v1/deliveries/?event_id={delivery.event.event_id}", f"/api/v1/apps/{app.pk}/event-names/",
                 f"/apps/{app.pk}/deliveries/export.csv"):
        assert member_api.get(path).status_code == 200, path
    for path in (f"/deliveries/?event_id={delivery.event.event_id}", f"/apps/{app.pk}/deliveries/export.csv"):
        assert plain_member_client.get(path).status_code == 200, path


@pytest.fixture(params=["owner signed in", "full API key"])
def owner_api(request: pytest.FixtureRequest, member: User, api: APIClient) -> APIClient:
    return owner_client(member) if request.param == "owner signed in" else api


def test_an_owner_or_a_full_key_creates_an_app_replaces_its_credentials_and_deletes_it(
    owner_api: APIClient,
) -> None:
    response = owner_api.post("/api/v1/apps/", NEW_APP, format="json")
    assert response.status_code == 201, response.json()
    app_id = response.json()["id"]
    response = owner_api.patch(f"/api/v1/apps/{app_id}/", {"chartboost_app_id": "f" * 24,
                                                           "chartboost_app_token": "e" * 64}, format="json")
    assert response.status_code == 200, response.json()
    assert owner_api.delete(f"/api/v1/apps/{app_id}/").status_code == 204
    assert App.objects.get(pk=app_id).archived_at is not None



def test_a_member_can_send_a_test_event_on_the_page_and_in_the_api(
    chartboost_sandbox: ChartboostSandbox, plain_member_client: Client, member_api: APIClient, app: App
) -> None:
    assert plain_member_client.post(f"/apps/{app.pk}/test-event/").status_code == 302
    response = member_api.post(f"/api/v1/apps/{app.pk}/test-event/")
    assert response.status_code == 200 and response.json()["delivered"] is True
    assert len(chartboost_sandbox.received) == 2


def test_owners_members_and_full_keys_read_an_apps_changes(owner_api: APIClient, member_api: APIClient,
                                                           plain_member_client: Client, app: App) -> None:
    for client in (owner_api, member_api):
        response = client.get(f"/api/v1/apps/{app.pk}/changes/")
        assert response.status_code == 200 and response.json()["count"] == 1
    assert plain_member_client.get(f"/apps/{app.pk}/changes/").status_code == 200


def test_a_members_own_changes_are_audited_as_theirs(member_api: APIClient, plain_member: User, app: App) -> None:
    member_api.patch(f"/api/v1/apps/{app.pk}/", {"delivery_enabled": False}, format="json")
    newest = member_api.get(f"/api/v1/apps/{app.pk}/changes/").json()["results"][0]
    assert newest["actor"] == {"type": "user", "name": plain_member.username}


def test_a_member_gets_a_403_for_inviting_in_the_api_and_an_owner_invites(
    member_api: APIClient, member: User, organization: Organization
) -> None:
    refused = member_api.post("/api/v1/invitations/", {"invitee": "someone"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only an owner of this organization can manage members."
    assert owner_client(member).post("/api/v1/invitations/", {"invitee": "someone"}, format="json").status_code == 201


def test_a_member_may_leave_but_cannot_invite_on_the_page(
    plain_member_client: Client, organization: Organization
) -> None:
    assert plain_member_client.post("/settings/members/", {"invitee": "someone"}).status_code == 403
    assert plain_member_client.post("/settings/members/leave/").status_code == 302
    assert not organization.members.filter(membership__role="member").exists()
