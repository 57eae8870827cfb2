"""Template filters and tags for showing deliveries: JSON as stored, Unix times, success rates, and
long reasons cut where they keep what to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from delivery.text import TOKEN_HINT, text_cut_keeping_fix
from mappings.models import App

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


@register.filter
def properties_text(properties: dict[str, Any]) -> str:
    """Example properties as `key=value, key=value`, in the order they came."""
    return ", ".join(f"{key}={value}" for key, value in properties.items())


def _with_token_link(text: str, app: App | None) -> SafeString:
    """The text, its "check the app token" a link to where the token is replaced."""
    before, hint, after = text.partition(TOKEN_HINT)
    if not hint or app is None:
        return format_html("{}", text)
    url = reverse("app-edit", args=[app.pk]) + "#id_chartboost_app_token"
    return format_html('{}<a href="{}">{}</a>{}', before, url, hint, after)


@register.simple_tag
def reason_text(text: str, app: App | None = None, limit: int = 160) -> SafeString:
    """A reason or a message, shortened in the middle when long so the part that says what to do stays,
    with the whole text on demand; "check the app token" links to the token's input."""
    shown = text_cut_keeping_fix(text, limit)
    if shown == text:
        return _with_token_link(text, app)
    return format_html('{}<details class="more"><summary><span class="more-label">Whole text</span></summary>'
                       '<div class="more-body">{}</div></details>', _with_token_link(shown, app), text)
