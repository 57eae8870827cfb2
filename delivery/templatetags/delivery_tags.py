"""Template filters for showing deliveries: JSON as stored, Unix times, success rates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON, keys in the order they were stored (the order they went on the wire)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def unix_time(value: int | None) -> datetime | None:
    """A Unix timestamp (seconds) as a UTC datetime, for the date filter."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@register.filter
def percent(rate: float | None) -> str:
    """0.9876 as "98.7 %", rounded down so that one failure never reads as 100 %; None as "–"."""
    if rate is None:
        return "–"
    return f"{int(rate * 1000) / 10:g} %"
