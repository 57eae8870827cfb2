"""The Live events page's ring: what became of each of an app's last `LIVE_EVENTS_KEPT` received events.

Duplicates and rejected events are never stored as tracked events, so ingestion notes every
outcome here (`outcomes_remember`, in the ingest's own transaction): the outcome, the sender's
event_id and name, the errors of a rejected one, the stored event's id of an accepted or unmapped
one. Each write prunes the app's rows beyond the newest `LIVE_EVENTS_KEPT`, so the table holds at
most that many per app and the page reads a bounded window through the (app, -id) index, never a
scan. A table rather than the cache: it is durable, shared by every web process, and the
database cache has no atomic list to push to and trim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Subquery

from delivery.bulk_insert import rows_insert
from delivery.models import Delivery, IngestOutcome
from mappings.models import App


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    name: str
    status: str
    tracked_event_pk: int | None
    errors: dict[str, list[str]]


def outcomes_remember(*, app_id: int, outcomes: list[Outcome], now: datetime) -> None:
    """Add the batch's outcomes (its last `LIVE_EVENTS_KEPT`) and forget the app's older ones.

    In the ingest's transaction.
    """
    kept = settings.LIVE_EVENTS_KEPT
    if not outcomes:
        return
    rows_insert(IngestOutcome, [
        (_printable(o.event_id)[:128], _printable(o.name)[:255], o.status, o.tracked_event_pk,
         {_printable(key): [_printable(m) for m in messages] for key, messages in o.errors.items()})
        for o in outcomes[-kept:]
    ], fields=("event_id", "name", "status", "tracked_event_pk", "errors"), same={"app": app_id, "received_at": now})
    # One statement whatever the ring holds, so a batch's queries do not depend on it: below the
    # `kept`-th newest there is nothing to keep (and before the ring is full, nothing is below).
    oldest_kept = IngestOutcome.objects.filter(app_id=app_id).order_by("-id").values("id")[kept - 1:kept]
    IngestOutcome.objects.filter(app_id=app_id, id__lt=Subquery(oldest_kept)).delete()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(text: str) -> str:
    """A rejected event's text may hold control characters (that may be why it was rejected); PostgreSQL
    cannot store NUL, and the page has no use for any of them."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


@dataclass(frozen=True, slots=True)
class LiveEvent:
    outcome: IngestOutcome
    deliveries: list[dict[str, Any]]


def outcomes_recent(app: App, *, limit: int = 50) -> list[LiveEvent]:
    """The app's last `limit` outcomes, newest first, each accepted one with its deliveries' status now: two queries."""
    recent = list(IngestOutcome.objects.filter(app=app).order_by("-id")[:limit])
    pks = [o.tracked_event_pk for o in recent if o.tracked_event_pk is not None]
    deliveries: dict[int, list[dict[str, Any]]] = {}
    rows = (Delivery.objects.filter(app=app, event_id__in=pks).order_by("event_field")
            .values("id", "event_id", "event_field", "status", "reason"))
    for row in rows:
        deliveries.setdefault(row["event_id"], []).append(row)
    return [LiveEvent(o, deliveries.get(o.tracked_event_pk, []) if o.tracked_event_pk else []) for o in recent]
