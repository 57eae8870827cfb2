"""The one way a timestamp is written on a page, dashboard and admin alike.

Time rule: a timestamp is written once, in UTC, as `<time datetime="...Z">`; static/js/time.js
shows it in the browser's local time and keeps relative times ticking, with UTC in the tooltip.
Without JavaScript the UTC text stays. A leaf module, so delivery's admin can use it without
importing the dashboard shell (the template tag `utc_time` is this function).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def utc_time(value: datetime | None, *, seconds: bool = False, relative: bool = False, due: bool = False,
             empty: str = "–") -> SafeString:
    """`<time datetime="2026-12-01T22:35:03Z" title="2026-12-01 22:35:03 UTC">2026-12-01 22:35 UTC</time>`.

    `seconds` shows the seconds too (attempts a few seconds apart); `relative` marks it for
    static/js/time.js to show and keep true as "in 8 s" or "3 min ago"; `due` (a next attempt) says
    "due now" once the time has come instead of "1 s ago". `empty` is shown for no time at all.
    """
    if value is None:
        return format_html('<span class="subtle">{}</span>', empty)
    when = _utc(value)
    shown = when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    flags = mark_safe((" data-seconds" if seconds else "") + (" data-relative" if relative else "")
                      + (" data-due" if due else ""))
    return format_html(
        '<time datetime="{}" title="{} UTC"{}>{} UTC</time>',
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        when.strftime("%Y-%m-%d %H:%M:%S"),
        flags,
        shown,
    )
