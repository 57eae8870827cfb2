"""Copying an app's mappings into another app of the organization: the API
(`POST /api/v1/apps/{app_id}/mappings/copy/`) and the page (`/apps/{id}/mappings/copy/`)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from mappings.models import App, Mapping
from mappings.selectors import app_changes
from tests.factories import AppFactory, MappingFactory
from trackerui.accounts.audit import Actor


@pytest.fixture
def ios(app: App) -> App:
    MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level",
                   sub_level_property="stage", event_label="Highest level")
    MappingFactory(app=app, event_name="area_entered", event_field=2, main_level_property="",
                   description_property="area")
    MappingFactory(app=app, event_name="tutorial_done", event_field=5, main_level_property="", active=False)
    return app


@pytest.fixture
def android(app: App) -> App:
    return AppFactory(organization=app.organization, platform="android", name="Puzzle Quest Android")


def test_it_copies_every_mapping_to_the_same_event_id(api: APIClient, ios: App, android: App) -> None:
    response = api.post(f"/api/v1/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["copied"], body["clashed"]) == (3, 0)
    assert [(r["event_field"], r["status"]) for r in body["results"]] == [(1, "copied"), (2, "copied"), (5, "copied")]
    copied = {m.event_field: m for m in android.mappings.all()}
    assert copied[1].label == "Highest level" and copied[1].sub_level_property == "stage"
    assert copied[2].description_property == "area"
    assert copied[5].active is False
    assert ios.mappings.count() == 3


def test_an_event_id_already_mapped_clashes_and_is_never_overwritten(api: APIClient, ios: App, android: App) -> None:
    mine = MappingFactory(app=android, event_name="stage_cleared", event_field=1, main_level_property="stage")

    body = api.post(f"/api/v1/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk}, format="json").json()

    assert (body["copied"], body["clashed"]) == (2, 1)
    clash = body["results"][0]
    assert (clash["event_field"], clash["status"], clash["mapping"]) == (1, "clashed", None)
    assert "already mapped to “stage_cleared”" in clash["errors"]["event_field"][0]
    mine.refresh_from_db()
    assert (mine.event_name, mine.main_level_property) == ("stage_cleared", "stage")


def test_copying_twice_copies_nothing_the_second_time(api: APIClient, ios: App, android: App) -> None:
    api.post(f"/api/v1/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk}, format="json")
    body = api.post(f"/api/v1/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk}, format="json").json()

    assert (body["copied"], body["clashed"]) == (0, 3)
    assert android.mappings.count() == 3


def test_each_copied_mapping_is_in_the_audit_trail_with_the_api_key(api: APIClient, ios: App, android: App) -> None:
    api.post(f"/api/v1/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk}, format="json")

    created = [change for change in app_changes(android) if change.object_type == "mapping"]
    assert len(created) == 3
    assert {(c.action, c.source, c.actor.type) for c in created} == {("created", "api", "api_key")}


def test_another_organizations_app_is_a_404_either_way(api: APIClient, ios: App, other_app: App) -> None:
    MappingFactory(app=other_app, event_field=1)

    assert api.post(f"/api/v1/apps/{ios.pk}/mappings/copy/", {"from_app": other_app.pk},
                    format="json").status_code == 404
    assert api.post(f"/api/v1/apps/{other_app.pk}/mappings/copy/", {"from_app": ios.pk},
                    format="json").status_code == 404
    assert Mapping.objects.filter(app=ios).count() == 3


def test_copying_an_app_into_itself_is_refused(api: APIClient, ios: App) -> None:
    response = api.post(f"/api/v1/apps/{ios.pk}/mappings/copy/", {"from_app": ios.pk}, format="json")

    assert response.status_code == 400
    assert "from_app" in response.json()


def test_the_page_copies_and_reports_per_event_id(
    signed_in_client: Client, member: User, ios: App, android: App
) -> None:
    MappingFactory(app=android, event_name="stage_cleared", event_field=1, main_level_property="stage")
    assert "Copy mappings" in signed_in_client.get(f"/apps/{android.pk}/mappings/").content.decode()
    form = signed_in_client.get(f"/apps/{android.pk}/mappings/copy/").content.decode()
    assert f'value="{ios.pk}"' in form and f'value="{android.pk}"' not in form

    response = signed_in_client.post(f"/apps/{android.pk}/mappings/copy/", {"from_app": ios.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-event-field="1" data-status="clashed"' in html and "already mapped" in html
    assert 'data-event-field="2" data-status="copied"' in html
    change = next(c for c in app_changes(android) if c.object_type == "mapping")
    assert (change.actor, change.source) == (Actor("user", member.username), "dashboard")


def test_the_page_refuses_another_organizations_app(
    signed_in_client: Client, ios: App, android: App, other_app: App
) -> None:
    response = signed_in_client.post(f"/apps/{ios.pk}/mappings/copy/", {"from_app": other_app.pk})

    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert signed_in_client.get(f"/apps/{other_app.pk}/mappings/copy/").status_code == 404
