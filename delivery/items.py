"""What a mapping sends for one event: the `track_info` item it makes of the event's properties.

Below both wings that need it: ingestion (`delivery/ingest/levels.py::event_items`) and the
test event (`delivery/outbox/trial_event.py`), which sends what the app's first mapping would.
"""

from __future__ import annotations

import json
import re
from typing import Any

from delivery import chartboost
from mappings.models import INT32_MAX, INT32_MIN, Mapping

# At most 20 digits is read as a number, so that one out of range is told so; any longer is text.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}")


class EventRejected(Exception):
    """The event breaks a rule; `errors` is `{"field": ["message", ...]}`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def track_item(mapping: Mapping, properties: dict[str, Any]) -> dict[str, Any]:
    """The item exactly as it goes into `track_info` (reference, "Level Tracking Parameters")."""
    if mapping.is_sequential:
        main_level, sub_level = _main_level(mapping, properties), _sub_level(mapping, properties)
    else:
        # Reference: "For non-sequential or non-numerical events, set main_level:1 and sub_level:0".
        main_level, sub_level = 1, 0
    return chartboost.track_info_item(
        event_label=mapping.label,
        event_field=mapping.event_field,
        main_level=main_level,
        sub_level=sub_level,
        description=description_for(mapping, properties),
    )


def description_for(mapping: Mapping, properties: dict[str, Any]) -> str:
    """The property's value if the event has it, else the fixed description, else the label."""
    if mapping.description_property:
        value = properties.get(mapping.description_property)
        # A property sent as null or "" says nothing, so the fixed text is more useful.
        if value is not None and value != "":
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return mapping.description or mapping.label


def _main_level(mapping: Mapping, properties: dict[str, Any]) -> int:
    name = mapping.main_level_property
    if not name:
        return mapping.main_level_value
    value = _as_integer(properties.get(name))
    if value is None or value == 0:
        raise _level_rejected(mapping, name, "main_level", "a non-zero integer", properties)
    # Levels are stored in 32-bit columns.
    if not INT32_MIN <= value <= INT32_MAX:
        raise _level_rejected(mapping, name, "main_level", f"an integer from {INT32_MIN} to {INT32_MAX}", properties)
    return value


def _sub_level(mapping: Mapping, properties: dict[str, Any]) -> int:
    name = mapping.sub_level_property
    # When the named property is missing (or null, which is the same), the
    # fixed sub_level_value is sent.
    if not name or properties.get(name) is None:
        return mapping.sub_level_value
    value = _as_integer(properties[name])
    if value is None or value < 0:
        raise _level_rejected(mapping, name, "sub_level", "an integer of 0 or more", properties)
    if value > INT32_MAX:
        raise _level_rejected(mapping, name, "sub_level", f"at most {INT32_MAX}", properties)
    return value


def _as_integer(value: Any) -> int | None:
    """An integer, or a string of one ("7"); anything else (7.5, "7.5", true) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    return None


def _level_rejected(mapping: Mapping, name: str, level: str, rule: str, properties: dict[str, Any]) -> EventRejected:
    """The rejection naming the rule the property broke (`rule`), and what it held."""
    got = "it is missing" if properties.get(name) is None else f"got {json.dumps(properties[name])[:40]}"
    message = f"Event ID {mapping.event_field} ({mapping.label}) reads {level} from property “{name}”: {rule} ({got})."
    return EventRejected({f"properties.{name}": [message]})
