"""What an alert says, and how each kind of channel receives it.

An alert's message is fixed when the alert is created (`Alert.message`), a small JSON object
naming the app, the condition, when, the figures behind it and a link to the app's page:

    {"type": "circuit_open", "summary": "...", "app": {"id", "name"}, "organization": "acme",
     "at": "2026-12-06T07:00:00Z", "figures": {...}, "link": "https://.../apps/3/"}

A webhook receives it as its JSON body; Slack gets `{"text": ...}`; an e-mail gets a subject
and a plain-text body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse

from mappings.models import App

TITLES = {
    "circuit_open": "Chartboost keeps failing: sending is held back",
    "success_rate_low": "Success rate is low",
    "needs_fix": "Deliveries fail for a reason only you can fix",
    "rejections_high": "Many events are rejected",
    "recovered": "Recovered",
    "test": "Test alert",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def app_link(app: App) -> str:
    return settings.SITE_URL + reverse("app-detail", args=[app.pk])


def duration_words(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _summary(kind: str, app: App | None, figures: dict[str, Any]) -> str:
    """One readable sentence with the figures behind the alert."""
    if kind == "circuit_open":
        return (f"{app}: Chartboost failed {figures.get('failures', 0)} times in a row "
                f"({figures.get('last_error') or 'retryable failures'}); one probe at a time until it answers.")
    if kind == "success_rate_low":
        return (f"{app}: {figures['success_rate']} % of {figures['attempted']} deliveries attempted in the last "
                f"{figures['window_minutes']} min were delivered (threshold {figures['threshold']} %).")
    if kind == "needs_fix":
        return f"{app}: {figures['failed']} deliveries failed: {figures['hint']}."
    if kind == "rejections_high":
        return (f"{app}: {figures['rejected']} of {figures['events']} events rejected "
                f"({figures['rejected_percent']} %); top reason {figures['top_reason']!r}.")
    if kind == "recovered":
        return (f"{app}: {TITLES.get(figures['condition'], figures['condition']).lower()} is over, "
                f"after {duration_words(figures['lasted_seconds'])}.")
    return "A test alert: this channel works."


def message_build(*, kind: str, app: App | None, organization_slug: str, at: datetime,
                  figures: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": kind,
        "title": TITLES.get(kind, kind),
        "organization": organization_slug,
        "at": iso(at),
        "figures": figures,
    }
    if app is not None:
        message["app"] = {"id": app.pk, "name": str(app), "chartboost_app_id": app.chartboost_app_id}
        message["link"] = app_link(app)
    else:
        message["link"] = settings.SITE_URL + reverse("alert-channels")
    message["summary"] = _summary(kind, app, figures)
    return message


def recovered_figures(condition_kind: str, started_at: datetime, ended_at: datetime) -> dict[str, Any]:
    return {"condition": condition_kind, "started_at": iso(started_at), "ended_at": iso(ended_at),
            "lasted_seconds": round((ended_at - started_at) / timedelta(seconds=1))}


def slack_body(message: dict[str, Any]) -> dict[str, str]:
    return {"text": f"*{message['title']}*: {message['summary']}\n<{message['link']}|Open in CB Tracker>"}


def email_subject(message: dict[str, Any]) -> str:
    app = message.get("app", {}).get("name")
    return f"[CB Tracker] {message['title']}" + (f": {app}" if app else "")


def email_text(message: dict[str, Any]) -> str:
    figures = "\n".join(f"  {key}: {value}" for key, value in message["figures"].items())
    return (f"{message['summary']}\n\nWhen: {message['at']}\n"
            + (f"Figures:\n{figures}\n" if figures else "")
            + f"\n{message['link']}\n")


def webhook_body(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), sort_keys=True)
