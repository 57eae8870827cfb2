"""The rules for mappings: each bad value is refused with a message that says what is
wrong, through the service (what the API and admin use) and next to the field on the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from mappings.models import App, Mapping
from mappings.services import mapping_create, mapping_update
from tests.factories import MappingFactory
from tests.page_helpers import field_errors, unescape

# What the dashboard form posts for a blank mapping: every input is present.
FORM_DEFAULTS: dict[str, Any] = {
    "event_name": "level_complete", "event_field": 1, "event_label": "", "main_level_property": "",
    "main_level_value": 1, "sub_level_property": "", "sub_level_value": 0, "description_property": "",
    "description": "", "active": "on",
}

# (values, field that is refused, words the message must contain)
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
