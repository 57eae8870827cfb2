"""Field rules every app shares, whichever door a value comes in by (form, API, admin, ingestion).

A leaf module: it imports nothing of the project, so mappings, delivery and accounts can
all use it without breaking the direction of their dependencies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError

# U+0000-U+001F and U+007F. Lone surrogates (only possible through a JSON "\ud800"
# escape) are refused with them: no database or JSON encoder can store them.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
CONTROL_CHARACTERS_MESSAGE = "Control characters (U+0000-U+001F, U+007F) are not allowed."

# Times a filter or a form may name. Wider than any data we hold, and narrow enough
# that converting to UTC, or to any backend's timestamp type, cannot overflow.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)
TIME_OUT_OF_RANGE_MESSAGE = "Out of range: enter a time between 1970-01-01 and 9999-01-01 (UTC)."


def has_control_characters(value: str) -> bool:
    return CONTROL_CHARACTERS.search(value) is not None


def validate_no_control_characters(value: str) -> None:
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")


def time_in_range(value: datetime) -> datetime:
    """`value` in UTC, or a ValidationError when it lies outside what we store.

    An aware time near year 1 or 9999 with an offset overflows when it is converted,
    so the conversion itself is part of the check.
    """
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError(TIME_OUT_OF_RANGE_MESSAGE, code="out_of_range") from None
    if not EARLIEST_TIME <= in_utc < LATEST_TIME:
        raise ValidationError(TIME_OUT_OF_RANGE_MESSAGE, code="out_of_range")
    return in_utc
