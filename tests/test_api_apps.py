"""/api/v1/apps/ and /api/v1/apps/{app_id}/: list, create, read, update, delete."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from mappings.models import App
from tests.factories import saved_token
from trackerui.accounts.models import Organization

TOKEN = "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac"
NEW_APP = {
    "name": "Puzzle Quest (iOS)",
    "platform": "ios",
    "chartboost_app_id": "4f7aa26ef77659d869000003",
    "chartboost_app_token": TOKEN,
}


def test_it_lists_only_the_organizations_apps_in_pages(api: APIClient, app: App, other_app: App) -> None:
    response = api.get("/api/v1/apps/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [app.id]


def test_it_creates_an_app_and_shows_only_the_token_hint(api: APIClient, organization: Organization) -> None:
    response = api.post("/api/v1/apps/", NEW_APP, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["chartboost_app_token_hint"] == f"…{TOKEN[-9:]}"
    assert "chartboost_app_token" not in body
    assert TOKEN not in response.content.decode()
    app = App.objects.get(pk=body["id"])
    assert app.organization == organization
    assert saved_token(app) == TOKEN
    assert body["delivery_enabled"] is True and body["s2s_confirmed"] is False


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("chartboost_app_id", "not-hex", "24 hexadecimal"),
        ("chartboost_app_token", "abc", "64 hexadecimal"),
        ("name", "x" * 101, "at most 100"),
    ],
)
def test_it_answers_400_naming_the_field_with_the_models_message(
    api: APIClient, field: str, value: str, words: str
) -> None:
    response = api.post("/api/v1/apps/", {**NEW_APP, field: value}, format="json")

    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not App.objects.exists()


def test_it_refuses_an_unknown_platform(api: APIClient) -> None:
    response = api.post("/api/v1/apps/", {**NEW_APP, "platform": "windows"}, format="json")

    assert response.status_code == 400
    assert "platform" in response.json()


def test_it_reads_one_app(api: APIClient, app: App) -> None:
    response = api.get(f"/api/v1/apps/{app.id}/")

    assert response.status_code == 200
    assert response.json()["chartboost_app_id"] == app.chartboost_app_id
    assert response.json()["chartboost_app_token_hint"] == app.chartboost_app_token_hint


def test_a_patch_without_token_keeps_the_saved_token(api: APIClient, app: App) -> None:
    saved = saved_token(app)

    response = api.patch(f"/api/v1/apps/{app.id}/", {"name": "Renamed", "chartboost_app_token": ""}, format="json")

    assert response.status_code == 200, response.json()
    app.refresh_from_db()
    assert app.name == "Renamed"
    assert saved_token(app) == saved


def test_a_patch_with_a_token_replaces_it(api: APIClient, app: App) -> None:
    response = api.patch(f"/api/v1/apps/{app.id}/", {"chartboost_app_token": TOKEN.upper()}, format="json")

    assert response.status_code == 200
    assert response.json()["chartboost_app_token_hint"] == f"…{TOKEN[-9:]}"
    assert saved_token(app) == TOKEN


def test_a_patch_runs_the_same_validation_as_the_dashboard(api: APIClient, app: App) -> None:
    response = api.patch(f"/api/v1/apps/{app.id}/", {"chartboost_app_id": "123"}, format="json")

    assert response.status_code == 400
    assert "24 hexadecimal" in response.json()["chartboost_app_id"][0]


def test_deleting_an_app_archives_it(api: APIClient, app: App) -> None:
    response = api.delete(f"/api/v1/apps/{app.id}/")

    assert response.status_code == 204
    app.refresh_from_db()
    assert app.archived_at is not None
    assert api.get(f"/api/v1/apps/{app.id}/").status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_app_is_a_404(api: APIClient, other_app: App, method: str) -> None:
    response = getattr(api, method)(f"/api/v1/apps/{other_app.id}/", {"name": "Mine now"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such app."}
    other_app.refresh_from_db()
    assert other_app.name != "Mine now"
