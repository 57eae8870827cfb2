"""The Django admin for support staff: same rules as the dashboard, token write-only."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from mappings.models import App, Mapping
from tests.factories import AppFactory, MappingFactory, OrganizationFactory, saved_token
from tests.page_helpers import unescape
from trackerui.accounts.models import Organization
from trackerui.accounts.services import api_key_create


def admin_app_form(organization_id: int, **values: object) -> dict:
    return {"organization": organization_id, "name": "Puzzle Quest", "platform": "ios",
            "chartboost_app_id": "4f7aa26ef77659d869000003", "chartboost_app_token": "b" * 64,
            "delivery_enabled": "on", "mappings-TOTAL_FORMS": 0, "mappings-INITIAL_FORMS": 0, **values}


def test_customers_who_are_not_staff_cannot_open_the_admin(signed_in_client: Client) -> None:
    response = signed_in_client.get("/admin/mappings/app/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_add_an_app_through_the_same_rules(staff_client: Client) -> None:
    organization = OrganizationFactory()
    refused = staff_client.post("/admin/mappings/app/add/", admin_app_form(organization.pk,
                                                                           chartboost_app_token="xyz"))
    assert refused.status_code == 200
    assert "A Chartboost app token is 64 hexadecimal characters" in refused.content.decode()
    assert not App.objects.exists()
    response = staff_client.post("/admin/mappings/app/add/", admin_app_form(organization.pk))
    assert response.status_code == 302
    app = App.objects.get()
    assert (app.organization, saved_token(app)) == (organization, "b" * 64)


def test_staff_editing_an_app_with_a_blank_token_keeps_it(staff_client: Client) -> None:
    app = AppFactory(chartboost_app_token="c" * 64)
    page = staff_client.get(f"/admin/mappings/app/{app.pk}/change/").content.decode()
    assert app.chartboost_app_token_hint in page
    response = staff_client.post(f"/admin/mappings/app/{app.pk}/change/",
                                 admin_app_form(app.organization_id, name="Renamed", chartboost_app_token=""))
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, saved_token(app)) == ("Renamed", "c" * 64)


def test_the_app_changelist_shows_the_token_hint(staff_client: Client) -> None:
    app = AppFactory()
    assert app.chartboost_app_token_hint in staff_client.get("/admin/mappings/app/").content.decode()


def test_staff_cannot_save_a_mapping_the_product_would_refuse(staff_client: Client) -> None:
    app = AppFactory()
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    response = staff_client.post("/admin/mappings/mapping/add/", {
        "app": app.pk, "event_name": "boss", "event_field": 1, "main_level_value": 1, "sub_level_value": 0,
        "active": "on",
    })
    assert response.status_code == 200
    assert "Event ID 1 is already mapped to “level_complete” in this app" in unescape(response.content.decode())
    response = staff_client.post("/admin/mappings/mapping/add/", {
        "app": app.pk, "event_name": "area", "event_field": 2, "main_level_property": "level",
        "main_level_value": 1, "sub_level_value": 0, "active": "on",
    })
    assert "Event ID 2 is not sequential" in response.content.decode()
    response = staff_client.post("/admin/mappings/mapping/add/", {
        "app": app.pk, "event_name": "area", "event_field": 2, "main_level_value": 1, "sub_level_value": 0,
        "active": "on",
    })
    assert response.status_code == 302
    assert Mapping.objects.filter(app=app, event_field=2, event_name="area").exists()


def test_api_keys_show_their_hash_read_only_and_cannot_be_added(staff_client: Client) -> None:
    api_key, raw_key = api_key_create(organization=OrganizationFactory(), name="backend")
    page = staff_client.get(f"/admin/accounts/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.key_hash in page
    assert 'name="key_hash"' not in page
    assert raw_key not in page
    assert staff_client.get("/admin/accounts/apikey/add/").status_code == 403


def test_organizations_show_their_members_inline(
    staff_client: Client, member: User, organization: Organization
) -> None:
    page = staff_client.get(f"/admin/accounts/organization/{organization.pk}/change/").content.decode()
    assert "membership_set-TOTAL_FORMS" in page
    assert member.username in page
