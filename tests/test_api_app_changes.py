"""GET /api/v1/apps/{app_id}/changes/: the app's audit trail and its mappings', newest first, paginated."""

from __future__ import annotations

import re

from rest_framework.test import APIClient

from mappings.models import App
from mappings.services import app_update, mapping_create, mapping_update
from trackerui.accounts.models import ApiKey, Organization

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def changes_url(app: App) -> str:
    return f"/api/v1/apps/{app.pk}/changes/"


def test_each_change_has_exactly_the_documented_shape(api: APIClient, organization: Organization, app: App) -> None:
    api.patch(f"/api/v1/apps/{app.pk}/", {"name": "Renamed", "delivery_enabled": False}, format="json")
    response = api.get(changes_url(app))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    newest = body["results"][0]
    assert set(newest) == {"at", "actor", "source", "object", "object_id", "action", "changes"}
    assert ISO_UTC.match(newest["at"]), newest["at"]
    key = ApiKey.objects.get(organization=organization)
    assert newest["actor"] == {"type": "api_key", "name": str(key)}
    assert (newest["source"], newest["object"], newest["object_id"], newest["action"]) == (
        "api", "app", app.pk, "changed")
    assert newest["changes"] == [
        {"field": "name", "before": app.name, "after": "Renamed"},
        {"field": "delivery_enabled", "before": True, "after": False},
    ]


def test_it_lists_the_apps_and_its_mappings_changes_newest_first(api: APIClient, app: App) -> None:
    mapping = mapping_create(app=app, event_name="level_up", event_field=1)
    mapping_update(mapping=mapping, active=False)
    api.delete(f"/api/v1/apps/{app.pk}/mappings/{mapping.pk}/")
    results = api.get(changes_url(app)).json()["results"]
    assert [(item["object"], item["object_id"], item["action"]) for item in results] == [
        ("mapping", mapping.pk, "deleted"), ("mapping", mapping.pk, "changed"), ("mapping", mapping.pk, "created"),
        ("app", app.pk, "created"),
    ]
    assert [item["actor"]["type"] for item in results] == ["api_key", "system", "system", "system"]
    assert results[1]["changes"] == [{"field": "active", "before": True, "after": False}]
    created = {change["field"]: (change["before"], change["after"]) for change in results[2]["changes"]}
    assert created["event_name"] == (None, "level_up") and created["event_field"] == (None, 1)


def test_it_is_paginated_like_every_list(api: APIClient, app: App) -> None:
    for number in range(5):
        app_update(app=app, name=f"Name {number}")
    first = api.get(changes_url(app), {"page_size": 2}).json()
    assert first["count"] == 6 and first["previous"] is None
    assert [item["changes"][0]["after"] for item in first["results"]] == ["Name 4", "Name 3"]
    second = api.get(first["next"]).json()
    assert [item["changes"][0]["after"] for item in second["results"]] == ["Name 2", "Name 1"]
    last = api.get(changes_url(app), {"page_size": 2, "page": 3}).json()
    assert last["next"] is None and [item["action"] for item in last["results"]] == ["changed", "created"]


def test_a_member_reads_it_too(member_api: APIClient, app: App) -> None:
    response = member_api.get(changes_url(app))
    assert response.status_code == 200 and response.json()["count"] == 1


def test_another_organizations_app_is_a_404(api: APIClient, other_app: App) -> None:
    assert api.get(changes_url(other_app)).status_code == 404


def test_a_deleted_app_is_a_404(api: APIClient, app: App) -> None:
    api.delete(f"/api/v1/apps/{app.pk}/")
    assert api.get(changes_url(app)).status_code == 404


def test_the_token_shows_as_its_hint_only(api: APIClient, app: App) -> None:
    old_hint = app.chartboost_app_token_hint
    new_token = "ab" * 32
    api.patch(f"/api/v1/apps/{app.pk}/", {"chartboost_app_token": new_token}, format="json")
    response = api.get(changes_url(app))
    assert response.json()["results"][0]["changes"] == [
        {"field": "chartboost_app_token_hint", "before": old_hint, "after": f"…{new_token[-9:]}"}]
    assert new_token not in response.content.decode()
