"""/api/v1/apps/{app_id}/mappings/ and /api/v1/apps/{app_id}/mappings/{id}/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from mappings.models import App, Mapping
from tests.factories import AppFactory, MappingFactory


@pytest.fixture
def mapping(app: App) -> Mapping:
    return MappingFactory(app=app, event_name="level_complete", event_field=1)


def test_it_lists_the_apps_mappings_by_event_id(api: APIClient, app: App) -> None:
    MappingFactory(app=app, event_name="vip", event_field=4)
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    MappingFactory(app=AppFactory(organization=app.organization), event_field=2, main_level_property="")

    response = api.get(f"/api/v1/apps/{app.id}/mappings/")

    assert response.status_code == 200
    assert [row["event_field"] for row in response.json()["results"]] == [1, 4]


def test_it_creates_a_mapping_whose_label_defaults_to_the_event_name(api: APIClient, app: App) -> None:
    response = api.post(
        f"/api/v1/apps/{app.id}/mappings/",
        {"event_name": "level_complete", "event_field": 1, "main_level_property": "level"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["event_label"] == "level_complete"
    assert body["event_label_is_default"] is True
    assert body["main_level_value"] == 1 and body["sub_level_value"] == 0 and body["active"] is True
    assert Mapping.objects.get(pk=body["id"]).app == app


def test_a_custom_label_is_returned_and_an_empty_one_resets_it_to_the_event_name(
    api: APIClient, app: App, mapping: Mapping
) -> None:
    url = f"/api/v1/apps/{app.id}/mappings/{mapping.id}/"

    custom = api.patch(url, {"event_label": "Highest level solved"}, format="json").json()
    reset = api.patch(url, {"event_label": ""}, format="json").json()

    assert (custom["event_label"], custom["event_label_is_default"]) == ("Highest level solved", False)
    assert (reset["event_label"], reset["event_label_is_default"]) == ("level_complete", True)
    mapping.refresh_from_db()
    assert mapping.event_label == ""


def test_a_label_saved_equal_to_the_event_name_counts_as_the_default(
    api: APIClient, app: App, mapping: Mapping
) -> None:
    response = api.patch(f"/api/v1/apps/{app.id}/mappings/{mapping.id}/", {"event_label": "level_complete"},
                         format="json")

    assert (response.json()["event_label"], response.json()["event_label_is_default"]) == ("level_complete", True)


def test_null_resets_the_label_too(api: APIClient, app: App, mapping: Mapping) -> None:
    mapping.event_label = "Custom"
    mapping.save()

    response = api.patch(f"/api/v1/apps/{app.id}/mappings/{mapping.id}/", {"event_label": None}, format="json")

    assert response.json()["event_label"] == "level_complete"


def test_a_second_mapping_on_the_same_event_id_is_a_400_naming_event_field(
    api: APIClient, app: App, mapping: Mapping
) -> None:
    response = api.post(
        f"/api/v1/apps/{app.id}/mappings/", {"event_name": "other", "event_field": 1}, format="json"
    )

    assert response.status_code == 400
    assert "already mapped to “level_complete”" in response.json()["event_field"][0]


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"event_field": 7}, "event_field", "1, 2, 3, 4 or 5"),
        ({"event_field": 2, "main_level_property": "level"}, "main_level_property", "not sequential"),
        ({"event_field": 5, "sub_level_property": "stage"}, "sub_level_property", "not sequential"),
        ({"event_field": 3, "main_level_value": 0}, "main_level_value", "non-zero"),
        ({"event_field": 3, "sub_level_value": -1}, "sub_level_value", "0 or more"),
    ],
)
def test_it_applies_the_model_rules_with_their_messages(
    api: APIClient, app: App, values: dict[str, int | str], field: str, words: str
) -> None:
    response = api.post(f"/api/v1/apps/{app.id}/mappings/", {"event_name": "e", **values}, format="json")

    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not app.mappings.exists()


def test_a_number_too_big_for_the_database_is_a_400_not_a_500(api: APIClient, app: App) -> None:
    response = api.post(
        f"/api/v1/apps/{app.id}/mappings/", {"event_name": "e", "event_field": 1, "main_level_value": 2**70},
        format="json",
    )

    assert response.status_code == 400
    assert "main_level_value" in response.json()


def test_it_reads_updates_and_deletes_one_mapping(api: APIClient, app: App, mapping: Mapping) -> None:
    url = f"/api/v1/apps/{app.id}/mappings/{mapping.id}/"

    assert api.get(url).json()["event_name"] == "level_complete"
    assert api.patch(url, {"active": False}, format="json").json()["active"] is False
    assert api.delete(url).status_code == 204
    assert not Mapping.objects.filter(pk=mapping.id).exists()


def test_a_patch_that_breaks_a_rule_changes_nothing(api: APIClient, app: App, mapping: Mapping) -> None:
    response = api.patch(
        f"/api/v1/apps/{app.id}/mappings/{mapping.id}/", {"event_field": 2}, format="json"
    )

    assert response.status_code == 400
    assert "main_level_property" in response.json()
    mapping.refresh_from_db()
    assert mapping.event_field == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_app_mappings_are_a_404(api: APIClient, other_app: App, method: str) -> None:
    response = getattr(api, method)(
        f"/api/v1/apps/{other_app.id}/mappings/", {"event_name": "x", "event_field": 5}, format="json"
    )

    assert response.status_code == 404
    assert not other_app.mappings.exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_mapping_is_a_404(api: APIClient, app: App, other_app: App, method: str) -> None:
    theirs = MappingFactory(app=other_app)

    for url in (
        f"/api/v1/apps/{other_app.id}/mappings/{theirs.id}/",
        # Their mapping id under our own app id is no way in either.
        f"/api/v1/apps/{app.id}/mappings/{theirs.id}/",
    ):
        response = getattr(api, method)(url, {"active": False}, format="json")
        assert response.status_code == 404

    theirs.refresh_from_db()
    assert theirs.active is True
