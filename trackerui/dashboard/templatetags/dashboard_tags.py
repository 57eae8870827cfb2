"""Template tags of the dashboard shell: the app page's tabs, and every timestamp on every page.

Time rule: a timestamp is written once, in UTC, as `<time datetime="...Z">` (`utc_time`);
static/js/time.js shows it in the browser's local time and keeps relative times ticking,
with UTC in the tooltip. Without JavaScript the UTC text stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.http import QueryDict
from django.template.context import Context
from django.urls import reverse

from mappings.models import App
from trackerui.foundation.time_html import utc_time

register = template.Library()


@dataclass(frozen=True)
class Tab:
    """One tab of an app's pages: its label, the URL name it links to, and the pages it stands for."""

    label: str
    url_name: str
    # Other pages, by URL name, that show the tabs with this one current (one delivery: Deliveries).
    also_for: tuple[str, ...] = ()


# The app's tabs, in order. A new tab is one more entry here (its URL takes the app's id).
APP_TABS = (
    Tab("Overview", "app-detail"),
    Tab("Mappings", "app-mappings"),
    Tab("Deliveries", "app-deliveries", also_for=("delivery-detail",)),
    Tab("Live events", "app-live"),
    Tab("Changes", "app-changes"),
    Tab("Settings", "app-settings"),
)


@register.inclusion_tag("apps/_tabs.html", takes_context=True)
def app_tabs(context: Context, app: App) -> dict[str, object]:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else None
    tabs = [
        {
            "label": tab.label,
            "url": reverse(tab.url_name, args=[app.pk]),
            "current": current == tab.url_name or current in tab.also_for,
        }
        for tab in APP_TABS
    ]
    return {"tabs": tabs, "app": app}


# Every timestamp on every page, admin included (trackerui/foundation/time_html.py).
register.simple_tag(utc_time)


# Quick picks for a "since" input: (label, value). A value is a duration the time fields read
# as that long ago (delivery/forms.py::TimeField), so the same links work without JavaScript.
TIME_PRESETS = (("1 h", "1h"), ("24 h", "24h"), ("7 d", "7d"))


@register.inclusion_tag("includes/time_presets.html", takes_context=True)
def time_presets_for(context: Context, input_id: str, param: str, anchor: str = "") -> dict[str, object]:
    """Preset links for the input `input_id`: with JavaScript they fill it, without it they reload the
    page with `?<param>=24h` (other query values kept, the page number dropped)."""
    return {"request": context.get("request"), "input_id": input_id, "param": param, "anchor": anchor,
            "time_presets": TIME_PRESETS}


@register.simple_tag(takes_context=True)
def preset_query(context: Context, param: str, value: str, anchor: str = "") -> str:
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query[param] = value
    query.pop("page", None)
    return "?" + query.urlencode() + (f"#{anchor}" if anchor else "")
