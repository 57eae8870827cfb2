"""Reads for the dashboard shell that join apps, mappings and delivery history."""

from __future__ import annotations

from django.db.models import QuerySet

from delivery.models import EventName
from mappings.models import App

UNMAPPED_EVENTS_SHOWN = 20


def unmapped_event_names(app: App, *, limit: int = UNMAPPED_EVENTS_SHOWN) -> QuerySet[EventName]:
    """Event names the app has sent that no mapping (active or not) uses, most recent first."""
    mapped_names = app.mappings.values("event_name")
    return app.event_names.exclude(name__in=mapped_names).order_by("-last_seen_at", "name")[:limit]
