"""Within one organization, two live apps may not share a Chartboost app ID (App.clean, mappings/checks.py)."""

from __future__ import annotations

from django.core.checks import Warning
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from mappings.checks import duplicate_chartboost_app_ids_check
from mappings.models import App
from mappings.services import app_update
from tests.factories import AppFactory, OrganizationFactory
from tests.page_helpers import field_errors, unescape
from trackerui.accounts.models import Organization

APP_ID = "4f7aa26ef77659d869000003"
TOKEN = "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac"
NEW_APP = {"name": "Puzzle Quest (Android)", "platform": "android", "chartboost_app_id": APP_ID,
           "chartboost_app_token": TOKEN}
TAKEN = "is already used by app “Puzzle Quest (iOS)” in this organization"


def existing(organization: Organization, **fields: object) -> App:
    return AppFactory(organization=organization, **{"name": "Puzzle Quest (iOS)", "chartboost_app_id": APP_ID,
                                                    **fields})


def test_the_api_refuses_a_new_app_with_an_id_another_app_uses(api: APIClient, organization: Organization) -> None:
    existing(organization)

    response = api.post("/api/v1/apps/", {**NEW_APP, "chartboost_app_id": APP_ID.upper()}, format="json")

    assert response.status_code == 400
    assert TAKEN in response.json()["chartboost_app_id"][0]
    assert App.objects.count() == 1


def test_the_api_refuses_changing_an_app_to_an_id_another_app_uses(api: APIClient, organization: Organization) -> None:
    existing(organization)
    other = AppFactory(organization=organization)

    response = api.patch(f"/api/v1/apps/{other.pk}/", {"chartboost_app_id": APP_ID}, format="json")

    assert response.status_code == 400
    assert TAKEN in response.json()["chartboost_app_id"][0]


def test_the_form_shows_the_error_next_to_the_app_id_on_create_and_edit(
    signed_in_client: Client, organization: Organization
) -> None:
    existing(organization)
    other = AppFactory(organization=organization)

    created = signed_in_client.post("/apps/new/", NEW_APP)
    edited = signed_in_client.post(f"/apps/{other.pk}/edit/", {**NEW_APP, "chartboost_app_token": ""})

    for response in (created, edited):
        assert response.status_code == 200
        assert TAKEN in unescape(field_errors(response.content.decode(), "chartboost_app_id"))
    other.refresh_from_db()
    assert other.chartboost_app_id != APP_ID


def test_another_organization_may_use_the_same_id(api: APIClient) -> None:
    existing(OrganizationFactory())

    assert api.post("/api/v1/apps/", NEW_APP, format="json").status_code == 201


def test_the_id_of_an_archived_app_is_free(api: APIClient, organization: Organization) -> None:
    existing(organization, archived_at=timezone.now(), chartboost_app_token="")

    assert api.post("/api/v1/apps/", NEW_APP, format="json").status_code == 201


def test_apps_that_already_share_an_id_are_left_as_they_are_and_stay_editable(organization: Organization) -> None:
    first = existing(organization)
    second = AppFactory(organization=organization, chartboost_app_id=APP_ID)

    app_update(app=second, delivery_enabled=False, name="Renamed")

    second.refresh_from_db()
    assert (second.name, second.chartboost_app_id, first.chartboost_app_id) == ("Renamed", APP_ID, APP_ID)


def test_the_system_check_warns_about_apps_that_share_an_id(organization: Organization) -> None:
    first = existing(organization)
    second = AppFactory(organization=organization, name="Puzzle Quest (copy)", chartboost_app_id=APP_ID)
    existing(OrganizationFactory())
    AppFactory(organization=organization, chartboost_app_id=APP_ID, archived_at=timezone.now())

    (warning,) = duplicate_chartboost_app_ids_check()

    assert isinstance(warning, Warning) and warning.id == "mappings.W001"
    assert APP_ID in warning.msg and organization.name in warning.msg
    assert f"“{first.name}” (id {first.pk})" in warning.msg and f"“{second.name}” (id {second.pk})" in warning.msg


def test_the_system_check_is_quiet_without_duplicates(organization: Organization) -> None:
    existing(organization)
    AppFactory(organization=organization)

    assert duplicate_chartboost_app_ids_check() == []


def test_the_app_page_flags_an_app_that_shares_its_id(signed_in_client: Client, organization: Organization) -> None:
    first = existing(organization)
    second = AppFactory(organization=organization, name="Puzzle Quest (copy)", chartboost_app_id=APP_ID)
    alone = AppFactory(organization=organization)

    page = unescape(signed_in_client.get(f"/apps/{first.pk}/").content.decode())

    assert 'id="duplicate-app-id"' in page and second.name in page
    assert 'id="duplicate-app-id"' not in signed_in_client.get(f"/apps/{alone.pk}/").content.decode()
