"""What each mapping sends for an event, and the sequential rule."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.ingest.levels import LevelClaim, device_levels_claim, event_items
from delivery.items import EventRejected, track_item
from delivery.models import DeviceLevel
from mappings.models import App, Mapping
from tests.factories import MappingFactory

DEVICE = "b1c99c76f014428590cf3a5c99d9dfc6"


def mapping(**fields: Any) -> Mapping:
    """An unsaved mapping: reading levels needs no database."""
    return MappingFactory.build(**fields)


def rejection(mapping_: Mapping, properties: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(EventRejected) as rejected:
        track_item(mapping_, properties)
    return rejected.value.errors


def test_the_item_is_exactly_what_track_info_carries() -> None:
    item = track_item(mapping(event_name="level_up", event_field=1, main_level_property="level"), {"level": 12})
    assert item == {
        "event_label": "level_up",
        "event_field": 1,
        "main_level": 12,
        "sub_level": 0,
        "description": "level_up",
        "data_type": "level_info",
    }


def test_the_label_is_the_override_when_there_is_one() -> None:
    item = track_item(mapping(event_name="level_up", event_label="Highest level puzzle solved"), {"level": 2})
    assert item["event_label"] == "Highest level puzzle solved"


@pytest.mark.parametrize(("sent", "read"), [(7, 7), ("7", 7), (" 7 ", 7), ("+7", 7), (-3, -3), ("-3", -3)])
def test_main_level_reads_integers_and_numeric_strings(sent: Any, read: int) -> None:
    assert track_item(mapping(main_level_property="level"), {"level": sent})["main_level"] == read


@pytest.mark.parametrize(
    "sent", [0, "0", 7.5, "7.5", 7.0, True, False, "seven", "", "1_000", None, [7], {"v": 7}, 2**31, "99999999999"]
)
def test_main_level_must_be_a_non_zero_integer(sent: Any) -> None:
    errors = rejection(mapping(event_field=3, main_level_property="level"), {"level": sent})
    assert list(errors) == ["properties.level"]
    assert "Event ID 3" in errors["properties.level"][0]


@pytest.mark.parametrize(("sent", "rule"), [
    (0, "a non-zero integer (got 0)"),
    ("seven", 'a non-zero integer (got "seven")'),
    # An integer, only too large for a level: the message says so, not that it is no integer.
    (2**31, "an integer from -2147483648 to 2147483647 (got 2147483648)"),
    ("99999999999", 'an integer from -2147483648 to 2147483647 (got "99999999999")'),
    (-(2**31) - 1, "an integer from -2147483648 to 2147483647 (got -2147483649)"),
])
def test_a_bad_main_level_is_told_the_rule_it_broke(sent: Any, rule: str) -> None:
    errors = rejection(mapping(event_field=1, event_name="level_up", main_level_property="level"), {"level": sent})
    assert errors == {"properties.level": [f"Event ID 1 (level_up) reads main_level from property “level”: {rule}."]}


@pytest.mark.parametrize(("sent", "rule"), [
    (-1, "an integer of 0 or more (got -1)"),
    ("x", 'an integer of 0 or more (got "x")'),
    (2**31, "at most 2147483647 (got 2147483648)"),
])
def test_a_bad_sub_level_is_told_the_rule_it_broke(sent: Any, rule: str) -> None:
    m = mapping(event_field=1, event_name="level_up", main_level_property="level", sub_level_property="stage")
    errors = rejection(m, {"level": 7, "stage": sent})
    assert errors == {"properties.stage": [f"Event ID 1 (level_up) reads sub_level from property “stage”: {rule}."]}


def test_a_missing_main_level_property_rejects_the_event_naming_property_and_event_id() -> None:
    errors = rejection(mapping(event_field=4, main_level_property="vip"), {"level": 3})
    assert "Event ID 4" in errors["properties.vip"][0]
    assert "missing" in errors["properties.vip"][0]


def test_main_level_is_the_fixed_value_when_no_property_is_named() -> None:
    assert track_item(mapping(main_level_property="", main_level_value=5), {"level": 9})["main_level"] == 5


def test_sub_level_is_read_from_its_property() -> None:
    item = track_item(mapping(main_level_property="level", sub_level_property="stage"), {"level": 7, "stage": "2"})
    assert (item["main_level"], item["sub_level"]) == (7, 2)


@pytest.mark.parametrize("properties", [{"level": 7}, {"level": 7, "stage": None}])
def test_a_missing_sub_level_property_falls_back_to_the_fixed_sub_level(properties: dict[str, Any]) -> None:
    m = mapping(main_level_property="level", sub_level_property="stage", sub_level_value=4)
    assert track_item(m, properties)["sub_level"] == 4


@pytest.mark.parametrize("sent", [-1, "-1", 1.5, "x", True])
def test_a_present_but_bad_sub_level_rejects_the_event(sent: Any) -> None:
    m = mapping(event_field=1, main_level_property="level", sub_level_property="stage")
    assert "Event ID 1" in rejection(m, {"level": 7, "stage": sent})["properties.stage"][0]


def test_sub_level_may_be_zero() -> None:
    m = mapping(main_level_property="level", sub_level_property="stage", sub_level_value=3)
    assert track_item(m, {"level": 7, "stage": 0})["sub_level"] == 0


@pytest.mark.parametrize("event_field", [2, 5])
def test_fields_2_and_5_always_send_main_level_1_and_sub_level_0(event_field: int) -> None:
    m = mapping(event_field=event_field, main_level_property="", sub_level_property="")
    item = track_item(m, {"level": 40, "stage": 3})
    assert (item["main_level"], item["sub_level"]) == (1, 0)


def test_the_description_is_the_property_value_when_present() -> None:
    m = mapping(description_property="world", description="Fixed")
    assert track_item(m, {"level": 1, "world": "Lunar Caverns"})["description"] == "Lunar Caverns"


def test_a_description_property_that_is_not_text_is_sent_as_text() -> None:
    m = mapping(description_property="world", description="Fixed")
    assert track_item(m, {"level": 1, "world": 12})["description"] == "12"
    assert track_item(m, {"level": 1, "world": True})["description"] == "true"


@pytest.mark.parametrize("properties", [{"level": 1}, {"level": 1, "world": None}, {"level": 1, "world": ""}])
def test_the_description_falls_back_to_the_fixed_description(properties: dict[str, Any]) -> None:
    m = mapping(description_property="world", description="Fixed")
    assert track_item(m, properties)["description"] == "Fixed"


def test_the_description_falls_back_to_the_label_last() -> None:
    m = mapping(event_name="level_up", event_label="Puzzle level", description_property="world", description="")
    assert track_item(m, {"level": 1})["description"] == "Puzzle level"


def test_event_items_names_every_failing_mapping() -> None:
    first = mapping(event_field=1, main_level_property="level")
    third = mapping(event_field=3, main_level_property="xp")
    fifth = mapping(event_field=5, main_level_property="")
    with pytest.raises(EventRejected) as rejected:
        event_items([first, third, fifth], {"level": "high"})
    assert set(rejected.value.errors) == {"properties.level", "properties.xp"}


def test_event_items_keeps_the_mappings_order() -> None:
    first = mapping(event_field=1, main_level_property="level")
    fifth = mapping(event_field=5, main_level_property="")
    assert [m.event_field for m, _ in event_items([first, fifth], {"level": 2})] == [1, 5]


def claims_for(levels: list[tuple[int, int]], device: str = DEVICE, event_field: int = 1) -> list[LevelClaim]:
    return [LevelClaim(device, event_field, main_level, sub_level) for main_level, sub_level in levels]


def stored_level(app: App, device: str = DEVICE, event_field: int = 1) -> tuple[int, int]:
    row = DeviceLevel.objects.get(app=app, device=device, event_field=event_field)
    return (row.main_level, row.sub_level)


def test_levels_3_5_4_5_6_in_one_batch_let_3_5_6_through(app: App) -> None:
    claims = claims_for([(3, 0), (5, 0), (4, 0), (5, 0), (6, 0)])
    device_levels_claim(app_id=app.pk, claims=claims)
    assert [claim.passed for claim in claims] == [True, True, False, False, True]
    assert [claim.reason for claim in claims] == [
        "",
        "",
        "Not sent: level 4 is not above level 5, already sent for this device",
        "Not sent: level 5 is not above level 5, already sent for this device",
        "",
    ]
    assert stored_level(app) == (6, 0)


def test_levels_3_5_4_5_6_one_at_a_time_let_3_5_6_through(app: App) -> None:
    passed = []
    for level in [(3, 0), (5, 0), (4, 0), (5, 0), (6, 0)]:
        [claim] = claims_for([level])
        device_levels_claim(app_id=app.pk, claims=[claim])
        passed.append(claim.passed)
    assert passed == [True, True, False, False, True]
    assert stored_level(app) == (6, 0)


def test_levels_compare_as_main_then_sub(app: App) -> None:
    claims = claims_for([(7, 0), (7, 1), (7, 1), (6, 9), (8, 0)])
    device_levels_claim(app_id=app.pk, claims=claims)
    assert [claim.passed for claim in claims] == [True, True, False, False, True]
    assert claims[2].reason == "Not sent: level 7.1 is not above level 7.1, already sent for this device"
    assert claims[3].reason == "Not sent: level 6.9 is not above level 7.1, already sent for this device"


def test_a_stored_level_is_compared_against(app: App) -> None:
    DeviceLevel.objects.create(app=app, device=DEVICE, event_field=1, main_level=7, sub_level=0)
    claims = claims_for([(7, 0), (2, 0), (7, 3)])
    device_levels_claim(app_id=app.pk, claims=claims)
    # Levels read as integers; a sub-level shows only when there is one.
    assert [claim.reason for claim in claims] == [
        "Not sent: level 7 is not above level 7, already sent for this device",
        "Not sent: level 2 is not above level 7, already sent for this device",
        "",
    ]
    assert stored_level(app) == (7, 3)


def test_a_batch_that_only_repeats_leaves_the_stored_level_alone(app: App) -> None:
    DeviceLevel.objects.create(app=app, device=DEVICE, event_field=1, main_level=7, sub_level=0)
    claims = claims_for([(5, 0), (7, 0)])
    device_levels_claim(app_id=app.pk, claims=claims)
    assert not any(claim.passed for claim in claims)
    assert stored_level(app) == (7, 0)


def test_each_device_and_event_id_has_its_own_highest_level(app: App) -> None:
    other_device = "7b7940e5800bfcc2"
    claims = [
        LevelClaim(DEVICE, 1, 5, 0),
        LevelClaim(DEVICE, 3, 5, 0),
        LevelClaim(other_device, 1, 5, 0),
        LevelClaim(DEVICE, 1, 5, 0),
    ]
    device_levels_claim(app_id=app.pk, claims=claims)
    assert [claim.passed for claim in claims] == [True, True, True, False]
    assert stored_level(app, DEVICE, 3) == (5, 0)
    assert stored_level(app, other_device, 1) == (5, 0)


def test_each_app_has_its_own_device_levels(app: App) -> None:
    other_app = MappingFactory().app
    DeviceLevel.objects.create(app=other_app, device=DEVICE, event_field=1, main_level=9, sub_level=0)
    [claim] = claims_for([(2, 0)])
    device_levels_claim(app_id=app.pk, claims=[claim])
    assert claim.passed


@pytest.mark.parametrize(("device", "event_field"), [("", 1), (DEVICE, 2), (DEVICE, 5)])
def test_only_sequential_fields_of_an_identified_device_have_levels(app: App, device: str, event_field: int) -> None:
    with pytest.raises(ValueError):
        device_levels_claim(app_id=app.pk, claims=[LevelClaim(device, event_field, 3, 0)])
    assert not DeviceLevel.objects.exists()
