"""Another organization's app or mapping is a 404 on every page, read or write."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mappings.models import App, Mapping
from tests.factories import AppFactory, MappingFactory
from tests.test_app_rules import GOOD as GOOD_APP
from tests.test_mapping_rules import FORM_DEFAULTS as GOOD_MAPPING


@pytest.fixture
def their_mapping(db: None) -> Mapping:
    """A mapping of an app that belongs to another organization."""
    return MappingFactory(app=AppFactory(name="Their game"), event_name="their_event")


def app_pages(app_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/apps/{app_id}/", {}),
        ("get", f"/apps/{app_id}/edit/", {}),
        ("post", f"/apps/{app_id}/edit/", {**GOOD_APP, "name": "Taken over"}),
        ("post", f"/apps/{app_id}/s2s-confirm/", {}),
        ("post", f"/apps/{app_id}/delivery/", {}),
        ("get", f"/apps/{app_id}/mappings/new/", {}),
        ("post", f"/apps/{app_id}/mappings/new/", {**GOOD_MAPPING, "event_field": 3}),
    ]


def mapping_pages(app_id: int, mapping_id: int) -> list[tuple[str, str, dict]]:
    base = f"/apps/{app_id}/mappings/{mapping_id}"
    return [
        ("get", f"{base}/edit/", {}),
        ("post", f"{base}/edit/", {**GOOD_MAPPING, "event_label": "Taken over"}),
        ("get", f"{base}/delete/", {}),
        ("post", f"{base}/delete/", {}),
        ("post", f"{base}/toggle/", {}),
    ]


def assert_untouched(mapping: Mapping) -> None:
    app_before = {"name": mapping.app.name, "s2s_confirmed": mapping.app.s2s_confirmed,
                  "delivery_enabled": mapping.app.delivery_enabled}
    mapping_before = {"event_label": mapping.event_label, "active": mapping.active}
    mapping.app.refresh_from_db()
    mapping.refresh_from_db()
    assert {"name": mapping.app.name, "s2s_confirmed": mapping.app.s2s_confirmed,
            "delivery_enabled": mapping.app.delivery_enabled} == app_before
    assert {"event_label": mapping.event_label, "active": mapping.active} == mapping_before
    assert mapping.app.mappings.count() == 1


def test_every_page_of_another_organizations_app_is_a_404(signed_in_client: Client,
                                                          their_mapping: Mapping) -> None:
    for method, path, data in app_pages(their_mapping.app_id):
        response = getattr(signed_in_client, method)(path, data)
        assert response.status_code == 404, f"{method.upper()} {path} answered {response.status_code}"
    assert "Their game" not in signed_in_client.get(f"/apps/{their_mapping.app_id}/").content.decode()
    assert_untouched(their_mapping)


def test_every_page_of_another_organizations_mapping_is_a_404(signed_in_client: Client,
                                                              their_mapping: Mapping) -> None:
    for method, path, data in mapping_pages(their_mapping.app_id, their_mapping.pk):
        response = getattr(signed_in_client, method)(path, data)
        assert response.status_code == 404, f"{method.upper()} {path} answered {response.status_code}"
    assert_untouched(their_mapping)


def test_their_mapping_under_our_own_app_is_a_404_too(signed_in_client: Client, app: App,
                                                      their_mapping: Mapping) -> None:
    for method, path, data in mapping_pages(app.pk, their_mapping.pk):
        response = getattr(signed_in_client, method)(path, data)
        assert response.status_code == 404, f"{method.upper()} {path} answered {response.status_code}"
    assert_untouched(their_mapping)


def test_the_same_pages_work_for_the_owning_organization(signed_in_client: Client, app: App) -> None:
    # The 404s above come from ownership, not from broken pages: our own app answers.
    mapping = MappingFactory(app=app)
    for method, path, _ in app_pages(app.pk) + mapping_pages(app.pk, mapping.pk):
        if method == "get":
            assert signed_in_client.get(path).status_code == 200, path


def test_a_user_in_two_organizations_sees_only_the_chosen_ones_apps(signed_in_client: Client, member: User,
                                                                    their_mapping: Mapping) -> None:
    their_organization = their_mapping.app.organization
    their_organization.members.add(member)
    assert signed_in_client.get(f"/apps/{their_mapping.app_id}/").status_code == 404
    signed_in_client.post("/accounts/organization/", {"organization": their_organization.pk})
    assert signed_in_client.get(f"/apps/{their_mapping.app_id}/").status_code == 200
