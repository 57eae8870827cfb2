"""The rules for mappings: each bad value is refused with a message that says what is
wrong, through the service (what the API and admin use) and next to the field on the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from mappings.models import App, Mapping
from mappings.services import mapping_create, mapping_update
from tests.factories import MappingFactory, UserFactory
from tests.page_helpers import field_errors, unescape

# What the dashboard form posts for a blank mapping: every input is present.
FORM_DEFAULTS: dict[str, Any] = {
    "event_name": "level_complete", "event_field": 1, "event_label": "", "main_level_property": "",
    "main_level_value": 1, "sub_level_property": "", "sub_level_value": 0, "description_property": "",
    "description": "", "active": "on",
}

CONTROL_CHARACTERS = "Control characters (U+0000-U+001F, U+007F) are not allowed."

# (values, field that is refused, words the message must contain): the same words through
# the service, the page, the API and the admin.
RULES_FOR_EVERY_DOOR: list[tuple[dict[str, Any], str, str]] = [
    ({"event_name": "level\x1bcomplete"}, "event_name", CONTROL_CHARACTERS),
    ({"event_name": "level_complete\x07"}, "event_name", CONTROL_CHARACTERS),
    ({"event_label": "Level\ncomplete"}, "event_label", CONTROL_CHARACTERS),
    ({"event_label": "Level\x7f"}, "event_label", CONTROL_CHARACTERS),
    ({"main_level_property": "lev\tel"}, "main_level_property", CONTROL_CHARACTERS),
    ({"description": "Lunar\x01Caverns"}, "description", CONTROL_CHARACTERS),
    ({"main_level_value": 99999999999}, "main_level_value",
     "Must be a whole number from -2147483648 to 2147483647 (got 99999999999)."),
    ({"main_level_value": -(2**31) - 1}, "main_level_value",
     "Must be a whole number from -2147483648 to 2147483647 (got -2147483649)."),
    ({"sub_level_value": 2**31}, "sub_level_value",
     "Must be a whole number from -2147483648 to 2147483647 (got 2147483648)."),
]
# The same, with words that differ between the service and the page.
BAD_MAPPINGS: list[tuple[dict[str, Any], str, str]] = [
    ({"event_field": 0}, "event_field", "Event ID must be 1, 2, 3, 4 or 5 (got 0)"),
    ({"event_field": 6}, "event_field", "Event ID must be 1, 2, 3, 4 or 5 (got 6)"),
    ({"event_field": 2, "main_level_property": "level"}, "main_level_property",
     "Event ID 2 is not sequential: Chartboost always gets main_level 1 and sub_level 0 for it, "
     "so it cannot read a level property."),
    ({"event_field": 2, "sub_level_property": "stage"}, "sub_level_property",
     "Event ID 2 is not sequential"),
    ({"event_field": 5, "main_level_property": "level"}, "main_level_property",
     "Event ID 5 is not sequential"),
    ({"event_field": 5, "sub_level_property": "stage"}, "sub_level_property", "Event ID 5 is not sequential"),
    ({"event_field": 5, "main_level_value": 3}, "main_level_value", "leave main_level at 1"),
    ({"event_field": 2, "sub_level_value": 2}, "sub_level_value", "leave sub_level at 0"),
    ({"main_level_value": 0}, "main_level_value", "main_level must be a non-zero integer: Chartboost rejects 0"),
    ({"sub_level_value": -1}, "sub_level_value", "sub_level must be 0 or more (got -1)"),
    ({"event_name": ""}, "event_name", "This field cannot be blank"),
    ({"event_name": "e" * 256}, "event_name", "at most 255 characters"),
    ({"event_name": "   "}, "event_name", "This field cannot be blank"),
    *RULES_FOR_EVERY_DOOR,
]
PAGE_WORDING = {"This field cannot be blank": "This field is required", "(got 0)": "(got '0')",
                "(got 6)": "(got '6')"}


def page_wording(message: str) -> str:
    """Form fields see posted text, so their messages quote the value as a string."""
    for model_words, page_words in PAGE_WORDING.items():
        message = message.replace(model_words, page_words)
    return message


@pytest.mark.parametrize(("values", "field", "message"), BAD_MAPPINGS)
def test_the_service_refuses_a_bad_mapping_naming_what_is_wrong(app: App, values: dict, field: str,
                                                                message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        mapping_create(app=app, **{"event_name": "level_complete", "event_field": 1, **values})
    assert message in " ".join(refused.value.message_dict[field])
    assert not Mapping.objects.exists()


@pytest.mark.parametrize(("values", "field", "message"), BAD_MAPPINGS)
def test_the_mapping_form_shows_the_message_next_to_the_field(signed_in_client: Client, app: App, values: dict,
                                                              field: str, message: str) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/new/", {**FORM_DEFAULTS, **values})
    assert response.status_code == 200
    assert page_wording(message) in unescape(field_errors(response.content.decode(), field))
    assert not Mapping.objects.exists()


@pytest.mark.parametrize(("values", "field", "message"), RULES_FOR_EVERY_DOOR)
def test_the_api_refuses_a_bad_field_with_the_same_message(api: APIClient, app: App, values: dict, field: str,
                                                           message: str) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/mappings/", {"event_name": "level_complete", "event_field": 1,
                                                             **values}, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Mapping.objects.exists()


@pytest.mark.parametrize(("values", "field", "message"), RULES_FOR_EVERY_DOOR)
def test_the_admin_refuses_a_bad_field_with_the_same_message(app: App, values: dict, field: str,
                                                             message: str) -> None:
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = staff.post("/admin/mappings/mapping/add/", {**FORM_DEFAULTS, "app": app.pk, **values})
    assert response.status_code == 200
    assert page_wording(message) in unescape(response.content.decode())
    assert not Mapping.objects.exists()


def test_names_and_labels_lose_their_surrounding_whitespace_on_every_door(api: APIClient, app: App) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/mappings/", {
        "event_name": " level_complete ", "event_field": 5, "event_label": "\tFinished ", "description": " d ",
    }, format="json")
    assert response.status_code == 201
    mapping = mapping_create(app=app, event_name=" boss ", event_field=3, event_label="  ")
    assert (mapping.event_name, mapping.event_label) == ("boss", "")
    saved = Mapping.objects.get(event_field=5)
    assert (saved.event_name, saved.event_label, saved.description) == ("level_complete", "Finished", "d")


def test_a_second_mapping_on_the_same_event_id_is_refused_naming_the_first(app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    with pytest.raises(ValidationError) as refused:
        mapping_create(app=app, event_name="boss_defeated", event_field=1)
    assert refused.value.message_dict["event_field"] == [
        "Event ID 1 is already mapped to “level_complete” in this app. Chartboost needs each Event ID "
        "tied to one type of data: edit that mapping or pick another Event ID."
    ]
    assert app.mappings.count() == 1


def test_the_page_shows_the_event_id_conflict_next_to_the_picker(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/new/", {**FORM_DEFAULTS, "event_name": "boss"})
    assert "Event ID 1 is already mapped to “level_complete” in this app" in field_errors(
        response.content.decode(), "event_field"
    )


def test_the_same_event_id_may_be_used_once_in_each_app(app: App) -> None:
    other_app = MappingFactory(event_field=1).app
    mapping_create(app=app, event_name="level_complete", event_field=1)
    assert other_app.mappings.count() == app.mappings.count() == 1


def test_one_event_name_may_feed_several_event_ids(app: App) -> None:
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    mapping_create(app=app, event_name="level_complete", event_field=2)
    mapping_create(app=app, event_name="level_complete", event_field=5, event_label="Reached a level")
    assert sorted(app.mappings.values_list("event_field", flat=True)) == [1, 2, 5]


def test_a_mapping_keeps_its_own_event_id_when_edited(app: App) -> None:
    mapping = MappingFactory(app=app, event_field=3)
    mapping_update(mapping=mapping, event_label="Character level")
    mapping.refresh_from_db()
    assert (mapping.event_field, mapping.label) == (3, "Character level")


def test_moving_a_mapping_onto_a_taken_event_id_is_refused(app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    mapping = MappingFactory(app=app, event_name="char_up", event_field=3)
    with pytest.raises(ValidationError) as refused:
        mapping_update(mapping=mapping, event_field=1)
    assert "already mapped to “level_complete”" in refused.value.message_dict["event_field"][0]


def test_the_label_defaults_to_the_event_name_until_overridden(app: App) -> None:
    mapping = mapping_create(app=app, event_name="tutorial_complete", event_field=5)
    assert (mapping.label, mapping.label_is_overridden) == ("tutorial_complete", False)
    mapping = mapping_update(mapping=mapping, event_label="FTUE completed?")
    assert (mapping.label, mapping.label_is_overridden) == ("FTUE completed?", True)


def test_non_sequential_event_ids_accept_the_fixed_1_and_0(app: App) -> None:
    mapping = mapping_create(app=app, event_name="area_entered", event_field=2, main_level_value=1,
                             sub_level_value=0, description_property="area")
    assert mapping.pk is not None
