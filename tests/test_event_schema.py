"""One event as a customer sends it: the rules of the event table of the API reference."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_django import Settings

from delivery.ingest.schema import CleanEvent, event_clean, json_may_hold_control_characters
from delivery.items import EventRejected
from tests.factories import EventPayloadFactory

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
GAID = "A2C79C76-F014-4285-90CF-3A5C57999FC6"
ZERO_GAID = "00000000-0000-0000-0000-000000000000"


def ios_event(**overrides: Any) -> dict[str, Any]:
    return EventPayloadFactory(**{"timestamp": NOW - 60, **overrides})


def android_event(**overrides: Any) -> dict[str, Any]:
    return EventPayloadFactory(
        **{"timestamp": NOW - 60, "platform": "Android 14", "identifiers": {"gaid": GAID}, **overrides}
    )


def errors_of(raw: Any, app_platform: str = "ios") -> dict[str, list[str]]:
    with pytest.raises(EventRejected) as rejected:
        event_clean(raw, app_platform=app_platform, now=NOW)
    return rejected.value.errors


def clean(raw: Any, app_platform: str = "ios") -> CleanEvent:
    return event_clean(raw, app_platform=app_platform, now=NOW)


# Each row: (what is wrong, the key to change, the bad value, the field the error names).
# The value DROP removes the key.
DROP = object()
BAD_VALUES = [
    ("event_id missing", "event_id", DROP, "event_id"),
    ("event_id null", "event_id", None, "event_id"),
    ("event_id empty", "event_id", "", "event_id"),
    ("event_id too long", "event_id", "e" * 129, "event_id"),
    ("event_id a number", "event_id", 42, "event_id"),
    ("name missing", "name", DROP, "name"),
    ("name empty", "name", "", "name"),
    ("name too long", "name", "n" * 256, "name"),
    ("name a list", "name", ["level_up"], "name"),
    ("timestamp missing", "timestamp", DROP, "timestamp"),
    ("timestamp null", "timestamp", None, "timestamp"),
    ("timestamp zero", "timestamp", 0, "timestamp"),
    ("timestamp negative", "timestamp", -5, "timestamp"),
    ("timestamp a float", "timestamp", NOW - 60.5, "timestamp"),
    ("timestamp a whole float", "timestamp", float(NOW), "timestamp"),
    ("timestamp a string", "timestamp", str(NOW), "timestamp"),
    ("timestamp a boolean", "timestamp", True, "timestamp"),
    ("timestamp over 1 h ahead", "timestamp", NOW + 3601, "timestamp"),
    ("timestamp in milliseconds", "timestamp", NOW * 1000, "timestamp"),
    ("timestamp older than the retention period", "timestamp", NOW - 30 * 86400 - 1, "timestamp"),
    ("platform missing", "platform", DROP, "platform"),
    ("platform empty", "platform", "", "platform"),
    ("platform too long", "platform", "p" * 65, "platform"),
    ("platform a number", "platform", 17, "platform"),
    ("identifiers missing", "identifiers", DROP, "identifiers"),
    ("identifiers a string", "identifiers", IFA, "identifiers"),
    ("identifiers empty", "identifiers", {}, "identifiers"),
    ("ifa too short", "identifiers", {"ifa": "b1c99c76f014428590cf3a5c99d9dfc"}, "identifiers.ifa"),
    ("ifa not hex", "identifiers", {"ifa": "z1c99c76f014428590cf3a5c99d9dfc6"}, "identifiers.ifa"),
    ("ifa a number", "identifiers", {"ifa": 12345}, "identifiers.ifa"),
    ("ifa all zero", "identifiers", {"ifa": "00000000-0000-0000-0000-000000000000"}, "identifiers"),
    ("properties a list", "properties", [1, 2], "properties"),
    ("properties a string", "properties", "level=3", "properties"),
    ("properties over 16 KiB", "properties", {"blob": "x" * 16_400}, "properties"),
    ("sdk_version too long", "sdk_version", "1" * 33, "sdk_version"),
    ("sdk_version a number", "sdk_version", 3.2, "sdk_version"),
    ("limit_ad_tracking a string", "limit_ad_tracking", "true", "limit_ad_tracking"),
    ("limit_ad_tracking a number", "limit_ad_tracking", 1, "limit_ad_tracking"),
    ("control character in name", "name", "level\nup", "name"),
    ("DEL in event_id", "event_id", "evt\x7f1", "event_id"),
    ("NUL in platform", "platform", "iOS\x0017", "platform"),
    ("control character in a property value", "properties", {"world": "Lunar\tCaverns"}, "properties.world"),
    ("control character deep in properties", "properties", {"a": {"b": ["ok", "bad\x1b"]}}, "properties.a.b"),
    ("control character in a property key", "properties", {"lev\rel": 3}, "properties"),
    ("control character in an unknown key's value", "note", "beep\x07", "note"),
    ("a lone surrogate in a property", "properties", {"emoji": "\ud83d"}, "properties.emoji"),
]


@pytest.mark.parametrize(("what", "key", "value", "field"), BAD_VALUES, ids=[row[0] for row in BAD_VALUES])
def test_it_rejects_each_bad_value_naming_its_field(what: str, key: str, value: Any, field: str) -> None:
    raw = ios_event()
    if value is DROP:
        del raw[key]
    else:
        raw[key] = value
    errors = errors_of(raw)
    assert field in errors, errors
    assert all(isinstance(message, str) and message for message in errors[field])


ANDROID_BAD_VALUES = [
    ("no gaid nor uuid", {"identifiers": {"ifa": IFA}}, "identifiers"),
    ("gaid without dashes", {"identifiers": {"gaid": GAID.replace("-", "")}}, "identifiers.gaid"),
    ("gaid too short", {"identifiers": {"gaid": GAID[:-1]}}, "identifiers.gaid"),
    ("uuid empty, so missing", {"identifiers": {"uuid": ""}}, "identifiers"),
    ("uuid blank, so missing", {"identifiers": {"uuid": " "}}, "identifiers"),
    ("uuid too long", {"identifiers": {"uuid": "u" * 65}}, "identifiers.uuid"),
    ("uuid a number", {"identifiers": {"uuid": 358414046356276}}, "identifiers.uuid"),
    ("only an all-zero gaid", {"identifiers": {"gaid": ZERO_GAID}}, "identifiers"),
]


@pytest.mark.parametrize(("what", "overrides", "field"), ANDROID_BAD_VALUES, ids=[r[0] for r in ANDROID_BAD_VALUES])
@pytest.mark.parametrize("platform", ["android", "amazon"])
def test_android_and_amazon_apps_need_a_gaid_or_uuid(
    what: str, overrides: dict[str, Any], field: str, platform: str
) -> None:
    assert field in errors_of(android_event(**overrides), app_platform=platform)


def test_it_reports_every_bad_field_at_once() -> None:
    errors = errors_of({"event_id": "", "timestamp": "soon", "platform": 1})
    assert {"event_id", "name", "timestamp", "platform", "identifiers"} <= set(errors)


@pytest.mark.parametrize("raw", [None, [], "event", 7, True])
def test_an_event_that_is_not_an_object_is_rejected(raw: Any) -> None:
    assert "non_field_errors" in errors_of(raw)


def test_a_good_ios_event_comes_out_clean() -> None:
    event = clean(ios_event(event_id="e-1", sdk_version="3.2.3", properties={"level": 7}))
    assert event == CleanEvent(
        event_id="e-1",
        name="level_up",
        timestamp=NOW - 60,
        platform="iOS 17.4",
        identifiers={"ifa": IFA},
        device="b1c99c76f014428590cf3a5c99d9dfc6",
        properties={"level": 7},
        sdk_version="3.2.3",
        limit_ad_tracking=False,
    )


def test_the_timestamp_may_be_up_to_one_hour_ahead() -> None:
    assert clean(ios_event(timestamp=NOW + 3600)).timestamp == NOW + 3600


def test_an_event_exactly_as_old_as_the_retention_period_is_accepted(settings: Settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 7
    assert clean(ios_event(timestamp=NOW - 7 * 86400)).timestamp == NOW - 7 * 86400


def test_an_event_older_than_the_retention_period_is_refused_saying_why(settings: Settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 7
    message = " ".join(errors_of(ios_event(timestamp=NOW - 7 * 86400 - 1))["timestamp"])
    assert "more than 7 days in the past" in message and "DELIVERY_RETENTION_DAYS" in message


def test_an_ifa_without_dashes_in_lowercase_is_fine() -> None:
    assert clean(ios_event(identifiers={"ifa": "b1c99c76f014428590cf3a5c99d9dfc6"})).device == (
        "b1c99c76f014428590cf3a5c99d9dfc6"
    )


def test_the_device_is_the_gaid_before_the_uuid_lowercase_without_dashes() -> None:
    event = clean(android_event(identifiers={"gaid": GAID, "uuid": "7B7940E5800BFCC2"}), app_platform="android")
    assert event.device == "a2c79c76f014428590cf3a5c57999fc6"
    # Requests carry the identifiers exactly as received.
    assert event.identifiers == {"gaid": GAID, "uuid": "7B7940E5800BFCC2"}


def test_the_uuid_identifies_the_device_when_there_is_no_gaid() -> None:
    event = clean(android_event(identifiers={"uuid": "7B79-40E5"}), app_platform="amazon")
    assert event.device == "7b7940e5"


def test_an_all_zero_gaid_is_dropped_and_the_uuid_identifies_the_device() -> None:
    event = clean(android_event(identifiers={"gaid": ZERO_GAID, "uuid": "7b7940e5800bfcc2"}), app_platform="android")
    assert event.identifiers == {"uuid": "7b7940e5800bfcc2"}
    assert event.device == "7b7940e5800bfcc2"


def test_identifiers_the_platform_does_not_use_are_ignored() -> None:
    event = clean(ios_event(identifiers={"ifa": IFA, "gaid": "not even a uuid", "idfv": "x"}))
    assert event.identifiers == {"ifa": IFA}


def test_limit_ad_tracking_needs_no_usable_identifier() -> None:
    zeroed = clean(ios_event(limit_ad_tracking=True, identifiers={"ifa": "0" * 32}))
    assert (zeroed.limit_ad_tracking, zeroed.identifiers, zeroed.device) == (True, {}, "")
    absent = ios_event(limit_ad_tracking=True)
    del absent["identifiers"]
    assert clean(absent).device == ""


def test_limit_ad_tracking_does_not_excuse_a_malformed_identifier() -> None:
    assert "identifiers.ifa" in errors_of(ios_event(limit_ad_tracking=True, identifiers={"ifa": "nope"}))


def test_optional_keys_sent_as_null_are_absent() -> None:
    event = clean(ios_event(properties=None, sdk_version=None, limit_ad_tracking=None))
    assert (event.properties, event.sdk_version, event.limit_ad_tracking) == ({}, "", False)


def test_a_null_identifier_is_absent() -> None:
    event = clean(android_event(identifiers={"gaid": None, "uuid": "7b7940e5800bfcc2"}), app_platform="android")
    assert event.identifiers == {"uuid": "7b7940e5800bfcc2"}


def test_unknown_keys_are_ignored() -> None:
    event = clean(ios_event(event_id="e-2", country="FR", extra={"nested": [1, 2]}))
    assert event.event_id == "e-2"


def test_properties_of_exactly_16_kib_are_accepted() -> None:
    # {"blob":"…"} is 11 bytes of JSON around the string.
    properties = {"blob": "x" * (16 * 1024 - 11)}
    assert clean(ios_event(properties=properties)).properties == properties


def test_properties_are_measured_in_utf8_bytes() -> None:
    # 6,000 characters of 3 bytes each: 18,000 bytes as JSON.
    assert "properties" in errors_of(ios_event(properties={"title": "€" * 6000}))


def test_properties_nested_too_deeply_are_rejected() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(40):
        inner["x"] = {}
        inner = inner["x"]
    assert "properties" in errors_of(ios_event(properties=deep))


def test_unicode_text_that_is_not_a_control_character_is_fine() -> None:
    event = clean(ios_event(name="niveau_réussi 🎉", properties={"monde": "Cavernes lunaires\u00a0✓"}))
    assert event.name == "niveau_réussi 🎉"


@pytest.mark.parametrize("field", ["name", "platform"])
@pytest.mark.parametrize("blank", ["", " ", "\u00a0\u2003", "  "])
def test_a_blank_name_or_platform_is_stripped_and_then_missing(field: str, blank: str) -> None:
    assert errors_of(ios_event(**{field: blank}))[field] == ["This field is required."]


def test_names_platforms_and_identifiers_lose_their_surrounding_whitespace() -> None:
    event = clean(ios_event(name=" level_up ", platform=" iOS 17.4 ", identifiers={"ifa": f" {IFA} "}))
    assert (event.name, event.platform, event.identifiers) == ("level_up", "iOS 17.4", {"ifa": IFA})


def test_a_blank_uuid_identifies_nobody() -> None:
    errors = errors_of(android_event(identifiers={"uuid": " "}), app_platform="android")
    assert errors == {"identifiers": ["Android and Amazon apps need identifiers.gaid or identifiers.uuid."]}


MISSING_IDENTIFIER_CASES = [
    # An Android app sent a valid ifa: the rule broken is the platform's, not about zeros.
    ("android", {"ifa": IFA}, "Android and Amazon apps identify a device by gaid or uuid; ifa is for iOS."),
    ("amazon", {"ifa": IFA}, "Android and Amazon apps identify a device by gaid or uuid; ifa is for iOS."),
    ("android", {"gaid": ZERO_GAID}, "An all-zero gaid (limit ad tracking) identifies no device: send a uuid "
                                     "too, or limit_ad_tracking: true."),
    ("android", {"gaid": ZERO_GAID, "ifa": IFA}, "An all-zero gaid (limit ad tracking) identifies no device: "
                                                 "send a uuid too, or limit_ad_tracking: true."),
    ("android", {}, "Android and Amazon apps need identifiers.gaid or identifiers.uuid."),
    ("ios", {"ifa": ZERO_GAID}, "An all-zero ifa (limit ad tracking) identifies no device: send "
                                "limit_ad_tracking: true instead."),
    ("ios", {"gaid": GAID}, "iOS apps identify a device by ifa; gaid and uuid are for Android and Amazon."),
    ("ios", {"uuid": "7b7940e5800bfcc2"}, "iOS apps identify a device by ifa; gaid and uuid are for Android and "
                                          "Amazon."),
    ("ios", {}, "iOS apps need identifiers.ifa."),
]


@pytest.mark.parametrize(("platform", "identifiers", "message"), MISSING_IDENTIFIER_CASES)
def test_an_event_without_a_usable_identifier_is_told_the_one_rule_it_broke(
    platform: str, identifiers: dict[str, str], message: str
) -> None:
    errors = errors_of(ios_event(identifiers=identifiers), app_platform=platform)
    assert errors == {"identifiers": [message]}


def test_a_uuid_keeps_its_inner_spaces_but_not_its_outer_ones() -> None:
    event = clean(android_event(identifiers={"uuid": " my device "}), app_platform="android")
    assert event.identifiers == {"uuid": "my device"}


@pytest.mark.parametrize("code_point", [*range(0x20), 0x7F, 0xD800, 0xDBFF, 0xDC00, 0xDFFF])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_json_text_of_any_refused_character_is_seen_to_possibly_hold_one(code_point: int, ensure_ascii: bool) -> None:
    """The API spares `event_clean` its walk over every string only for text that cannot hold one."""
    text = json.dumps({"events": [{"name": f"level{chr(code_point)}up"}]}, ensure_ascii=ensure_ascii)
    body = text.encode("utf-8", "surrogatepass")
    if 0xD800 <= code_point <= 0xDFFF and not ensure_ascii:
        # Written as it is, a lone surrogate is no UTF-8: such a body is refused before any event is read.
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    else:
        assert json_may_hold_control_characters(body)


def test_plain_json_text_cannot_hold_a_refused_character() -> None:
    text = json.dumps({"events": [ios_event(name="niveau_terminé ✓", properties={"monde": "Lunaire"})]},
                      ensure_ascii=False)
    assert not json_may_hold_control_characters(text.encode())
