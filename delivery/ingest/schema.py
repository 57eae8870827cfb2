"""One tracked event as a customer sends it: checked, and turned into a clean value.

This is the ingestion hot path (docs/design.md: thousands of events a second), so it is
plain Python: no serializers, one pass over each event's strings.

Decisions beyond the API reference, all made to be forgiving where nothing is lost:

- Unknown top-level keys are ignored (a newer SDK may send more than we read), but
  they are still checked for control characters, since the rule covers the whole event.
- Identifiers the app's platform does not use (a `gaid` sent to an iOS app) are
  ignored and not stored: Chartboost only reads `ifa` for iOS and `gaid`/`uuid` for
  Android and Amazon (reference, "Identifiers Parameters";
  `delivery.chartboost.platform_identifiers`).
- An event with `limit_ad_tracking: true` needs no usable identifier. It is still
  accepted and stored, but its deliveries are `blocked`: Chartboost never receives
  it, so nobody needs to identify the device.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from delivery.chartboost import platform_identifiers
from delivery.history.retention import retention_seconds
from delivery.items import EventRejected
from mappings.models import Platform
from trackerui.foundation.validators import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE

MAX_EVENT_ID_LENGTH = 128
MAX_NAME_LENGTH = 255
MAX_PLATFORM_LENGTH = 64
MAX_SDK_VERSION_LENGTH = 32
MAX_UUID_LENGTH = 64
MAX_PROPERTIES_BYTES = 16 * 1024
# Deeper than this, a properties object is not data a mapping can read; the limit
# also keeps every later json.dumps far from Python's recursion limit.
MAX_PROPERTIES_DEPTH = 32
FUTURE_TOLERANCE_SECONDS = 3600

# The one rule for control characters, shared with the mappings' own fields.
_FORBIDDEN = CONTROL_CHARACTERS
_HEX_OR_DASH = re.compile(r"[0-9a-fA-F-]+")
_UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALL_ZERO = "0" * 32
_HEX_32 = re.compile(r"[0-9a-f]{32}")

REQUIRED = "This field is required."
# Stripped of leading and trailing whitespace, as mapping names are (mappings.models.strip_text),
# so that " level_up" matches the mapping "level_up" and "platform": " " is missing.
# The sender's event_id is kept exactly as sent: it is only ever compared with itself.
_STRIPPED = frozenset({"name", "platform"})
NOT_NULL = "This field may not be null."


@dataclass(frozen=True, slots=True)
class CleanEvent:
    event_id: str
    name: str
    timestamp: int
    platform: str
    # Only usable identifiers, as received but stripped: requests carry them so.
    identifiers: dict[str, str]
    # The device identity: ifa, else gaid, else uuid; lowercase without dashes.
    # Empty only when limit_ad_tracking is on and no usable identifier was sent.
    device: str
    properties: dict[str, Any]
    sdk_version: str
    limit_ad_tracking: bool


def json_may_hold_control_characters(body: bytes) -> bool:
    """Whether a string or key of this JSON text (UTF-8) may hold a character `_FORBIDDEN` refuses.

    JSON carries control characters and lone surrogates only as escape sequences (a raw one is
    invalid JSON, and UTF-8 cannot encode a surrogate), and DEL either escaped or as it is. So text
    with neither a backslash nor DEL holds none, and `event_clean` need not scan its strings: a
    memory search of the body instead of a walk over every string of every event.
    """
    return b"\\" in body or b"\x7f" in body


def event_clean(raw: Any, *, app_platform: str, now: int, max_age_seconds: int | None = None,
                scan_characters: bool = True) -> CleanEvent:
    """Check one event for an app on `app_platform`, at Unix time `now`.

    An event older than `max_age_seconds` (by default DELIVERY_RETENTION_DAYS) is refused.
    Without `scan_characters` its strings are not searched for control characters: only for an
    event read from JSON text that cannot hold one (`json_may_hold_control_characters`).
    Raises EventRejected with every field error found.
    """
    if max_age_seconds is None:
        max_age_seconds = retention_seconds()
    if not isinstance(raw, dict):
        raise EventRejected({"non_field_errors": ["An event must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    forbidden_at = _forbidden_character_path(raw) if scan_characters else None
    if forbidden_at is not None:
        errors[forbidden_at] = [CONTROL_CHARACTERS_MESSAGE]

    event_id = _required_string(raw, "event_id", MAX_EVENT_ID_LENGTH, errors)
    name = _required_string(raw, "name", MAX_NAME_LENGTH, errors)
    timestamp = _timestamp(raw.get("timestamp", None), "timestamp" in raw, now, max_age_seconds, errors)
    platform = _required_string(raw, "platform", MAX_PLATFORM_LENGTH, errors)
    limit_ad_tracking = _optional_bool(raw, "limit_ad_tracking", errors)
    sdk_version = _optional_string(raw, "sdk_version", MAX_SDK_VERSION_LENGTH, errors)
    properties = _properties(raw.get("properties"), errors)
    identifiers, device = _identifiers(raw, app_platform, bool(limit_ad_tracking), errors)

    if errors:
        raise EventRejected(errors)
    return CleanEvent(
        event_id=event_id,
        name=name,
        timestamp=timestamp,
        platform=platform,
        identifiers=identifiers,
        device=device,
        properties=properties,
        sdk_version=sdk_version,
        limit_ad_tracking=bool(limit_ad_tracking),
    )


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    # The control-character scan may already have named this field; say each thing once.
    errors.setdefault(field, [])
    if message not in errors[field]:
        errors[field].append(message)


def _required_string(raw: dict, key: str, max_length: int, errors: dict[str, list[str]]) -> str:
    """The string at `key`; names and platforms are stripped, and an empty one is missing."""
    if key not in raw:
        _add(errors, key, REQUIRED)
        return ""
    value = raw[key]
    if isinstance(value, str) and key in _STRIPPED:
        value = value.strip()
    if value is None:
        _add(errors, key, NOT_NULL)
    elif not isinstance(value, str):
        _add(errors, key, f"Must be a string (got {_json_type(value)}).")
    elif not value:
        _add(errors, key, REQUIRED)
    elif len(value) > max_length:
        _add(errors, key, f"At most {max_length} characters (got {len(value)}).")
    else:
        return value
    return ""


def _optional_string(raw: dict, key: str, max_length: int, errors: dict[str, list[str]]) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        _add(errors, key, f"Must be a string (got {_json_type(value)}).")
        return ""
    if len(value) > max_length:
        _add(errors, key, f"At most {max_length} characters (got {len(value)}).")
        return ""
    return value


def _optional_bool(raw: dict, key: str, errors: dict[str, list[str]]) -> bool:
    value = raw.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        _add(errors, key, f"Must be true or false (got {_json_type(value)}).")
        return False
    return value


def _timestamp(value: Any, present: bool, now: int, max_age_seconds: int, errors: dict[str, list[str]]) -> int:
    if not present:
        _add(errors, "timestamp", REQUIRED)
    elif value is None:
        _add(errors, "timestamp", NOT_NULL)
    # bool is a subclass of int in Python, but `true` is not a time.
    elif isinstance(value, bool) or not isinstance(value, int):
        _add(errors, "timestamp", f"Must be an integer number of Unix seconds (got {_json_type(value)}).")
    elif value <= 0:
        _add(errors, "timestamp", "Must be a Unix time in seconds, greater than 0.")
    elif value > now + FUTURE_TOLERANCE_SECONDS:
        _add(errors, "timestamp", "Is more than 1 hour in the future: send Unix seconds, not milliseconds.")
    # Pruning forgets an event_id once its timestamp is this old; refusing older events is
    # what keeps a repeat from being accepted a second time after that.
    elif value < now - max_age_seconds:
        _add(errors, "timestamp", f"Is more than {_days(max_age_seconds)} in the past: events older than "
                                  "the retention period (DELIVERY_RETENTION_DAYS) are not accepted.")
    else:
        return value
    return 0


def _days(seconds: int) -> str:
    days = seconds / 86400
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def _properties(value: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _add(errors, "properties", f"Must be an object (got {_json_type(value)}).")
        return {}
    if _depth(value) > MAX_PROPERTIES_DEPTH:
        _add(errors, "properties", f"Nested more than {MAX_PROPERTIES_DEPTH} levels deep.")
        return {}
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_PROPERTIES_BYTES:
        _add(errors, "properties", f"At most 16 KiB as JSON (got {size} bytes).")
        return {}
    return value


def _identifiers(
    raw: dict, app_platform: str, limit_ad_tracking: bool, errors: dict[str, list[str]]
) -> tuple[dict[str, str], str]:
    """The usable identifiers as received, and the device identity made from them."""
    value = raw.get("identifiers")
    if value is not None and not isinstance(value, dict):
        _add(errors, "identifiers", f"Must be an object (got {_json_type(value)}).")
        return {}, ""
    given = value or {}
    keys = platform_identifiers(app_platform)
    usable: dict[str, str] = {}
    for key in keys:
        usable |= _checked(given, key, _IDENTIFIER_PROBLEMS[key], errors)
    if any(field.startswith("identifiers") for field in errors):
        return {}, ""
    device = next((usable[key] for key in keys if key in usable), "")
    if not device and not limit_ad_tracking:
        _add(errors, "identifiers", _missing_identifier_message(app_platform, given))
    return usable, device_identity(device)


def device_identity(device: str) -> str:
    """A device as we key it: lowercase without dashes, so an ifa pasted as received (in a filter, a search,
    the admin) finds the same device as the event that carried it."""
    return device.replace("-", "").lower()


def device_digest(device: str) -> str:
    """The SHA-256 (hex) of a device's identifier as a device sends it, lowercase: an OpenDSR request may
    name a device so (`identity_format` `sha256`). `device` is the identity above. An advertising id
    (32 hexadecimal digits) is hashed in its UUID form, 8-4-4-4-12 with dashes, as iOS and Android
    give it to an app; any other identifier (a `uuid` of the app's own) as it is keyed. Empty for no device.
    """
    if not device:
        return ""
    if _HEX_32.fullmatch(device):
        device = f"{device[:8]}-{device[8:12]}-{device[12:16]}-{device[16:20]}-{device[20:]}"
    return hashlib.sha256(device.encode("utf-8", "surrogatepass")).hexdigest()


def event_id_digest(event_id: str) -> str:
    """The SHA-256 (hex) an erased event's id is remembered by (`delivery.models.ErasedEvent`)."""
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


def _checked(
    given: dict, key: str, problem_of: Callable[[str], str], errors: dict[str, list[str]]
) -> dict[str, str]:
    """`{key: value}` when the identifier is present and usable, else `{}` (with an error if malformed)."""
    value = given.get(key)
    if isinstance(value, str):
        # Stripped, and then an empty identifier is a missing one.
        value = value.strip() or None
    if value is None:
        return {}
    if not isinstance(value, str):
        _add(errors, f"identifiers.{key}", f"Must be a string (got {_json_type(value)}).")
        return {}
    problem = problem_of(value)
    if problem:
        _add(errors, f"identifiers.{key}", problem)
        return {}
    # An all-zero advertising id is what a device sends under limit ad tracking: no identifier.
    if key != "uuid" and value.replace("-", "") == _ALL_ZERO:
        return {}
    return {key: value}


def _ifa_problem(value: str) -> str:
    if _HEX_OR_DASH.fullmatch(value) and len(value.replace("-", "")) == 32 and value.count("-") <= 4:
        return ""
    return "An ifa is 32 hexadecimal characters (dashes and uppercase allowed)."


def _gaid_problem(value: str) -> str:
    if _UUID_FORM.fullmatch(value):
        return ""
    return "A gaid is a UUID: 32 hexadecimal characters with 4 dashes (8-4-4-4-12)."


def _uuid_problem(value: str) -> str:
    if len(value) > MAX_UUID_LENGTH:
        return f"At most {MAX_UUID_LENGTH} characters (got {len(value)})."
    return ""


_IDENTIFIER_PROBLEMS: dict[str, Callable[[str], str]] = {
    "ifa": _ifa_problem, "gaid": _gaid_problem, "uuid": _uuid_problem,
}


IOS_NEEDS_IFA = "iOS apps need identifiers.ifa."
IOS_IFA_ONLY = "iOS apps identify a device by ifa; gaid and uuid are for Android and Amazon."
ANDROID_NEEDS_GAID_OR_UUID = "Android and Amazon apps need identifiers.gaid or identifiers.uuid."
ANDROID_NO_IFA = "Android and Amazon apps identify a device by gaid or uuid; ifa is for iOS."
ALL_ZERO_IFA_MESSAGE = "An all-zero ifa (limit ad tracking) identifies no device: send limit_ad_tracking: true instead."
ALL_ZERO_GAID_MESSAGE = ("An all-zero gaid (limit ad tracking) identifies no device: send a uuid too, or "
             "limit_ad_tracking: true.")


def _missing_identifier_message(app_platform: str, given: dict) -> str:
    """Why no identifier of the event identifies a device, naming only the rule it broke.

    Called once every identifier sent for the app's platform is well formed, so one that was
    sent and is still unusable is all-zero.
    """
    if app_platform == Platform.IOS:
        if _sent(given, "ifa"):
            return ALL_ZERO_IFA_MESSAGE
        return IOS_IFA_ONLY if _sent(given, "gaid") or _sent(given, "uuid") else IOS_NEEDS_IFA
    if _sent(given, "gaid"):
        return ALL_ZERO_GAID_MESSAGE
    return ANDROID_NO_IFA if _sent(given, "ifa") else ANDROID_NEEDS_GAID_OR_UUID


def _sent(given: dict, key: str) -> bool:
    """Whether the event carried this identifier: present, not null, not blank."""
    value = given.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _forbidden_character_path(raw: dict) -> str | None:
    """The dotted path of the first key or string with a control character, or None.

    Iterative, so no event can exhaust the stack however it is nested.
    """
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _FORBIDDEN.search(value):
                return path or "non_field_errors"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _FORBIDDEN.search(key):
                    return path or "non_field_errors"
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((path, item) for item in value)
    return None


def _depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[int, Any]] = [(1, value)]
    while stack:
        depth, item = stack.pop()
        if depth > MAX_PROPERTIES_DEPTH:
            return depth
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((depth + 1, child) for child in children if isinstance(child, dict | list))
    return deepest


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
