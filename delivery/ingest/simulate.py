"""Simulate: what draft mappings would have done with the app's stored events of the last days.

Nothing is stored or sent. Each draft is read over the app's stored events of its event name, in
event-time order, with the same code as ingestion: `delivery/ingest/levels.py::event_items` (which
builds the items through `delivery/items.py`) and `claims_decide` (the sequential rule), against
high-water marks kept in memory, starting from the devices' stored `DeviceLevel` values.

It reads, in one query streamed in chunks through the (app, timestamp) index, only what it
needs of each event: its id, device, opt-out, the properties the draft reads (as one small JSON
object, so each distinct set is read once), and its device's stored level.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import IntegerField, OuterRef, Subquery, TextField, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, JSONObject

from delivery.ingest.levels import LevelClaim, claims_decide, event_items
from delivery.items import EventRejected
from delivery.models import DeviceLevel, TrackedEvent
from mappings.event_fields import SEQUENTIAL_FIELDS
from mappings.models import App, Mapping

MIN_DAYS, MAX_DAYS = 1, 30
EXAMPLES = 3
CHUNK = 2000


@dataclass(slots=True)
class Rejection:
    reason: str
    count: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class DraftOutcome:
    """What one draft mapping would have done: events matched, sent, rejected (by reason), suppressed, blocked."""

    event_name: str
    event_field: int
    matched: int = 0
    sent: int = 0
    suppressed: int = 0
    blocked: int = 0
    rejections: dict[str, Rejection] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(rejection.count for rejection in self.rejections.values())

    @property
    def rejected_by_reason(self) -> list[Rejection]:
        return sorted(self.rejections.values(), key=lambda rejection: (-rejection.count, rejection.reason))


def mappings_simulate(*, app: App, drafts: list[Mapping], days: int) -> list[DraftOutcome]:
    """Each draft (an unsaved, valid Mapping) over the app's stored events of the last `days` days."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be {MIN_DAYS} to {MAX_DAYS}, not {days}.")
    since = int(time.time()) - days * 86400
    return [_draft_simulate(app, draft, since) for draft in drafts]


def _draft_simulate(app: App, draft: Mapping, since: int) -> DraftOutcome:
    outcome = DraftOutcome(draft.event_name, draft.event_field)
    sequential = draft.event_field in SEQUENTIAL_FIELDS
    highest: dict[str, tuple[int, int] | None] = {}
    # Many events carry the same values in the properties the draft reads (the same level of the
    # same stage): each distinct set is read once.
    read: dict[str, dict[str, Any] | EventRejected] = {}
    for event_id, device, needed, limit_ad_tracking, stored_main, stored_sub in _events(app, draft, since):
        outcome.matched += 1
        item = read.get(needed)
        if item is None:
            item = read[needed] = _item_of(draft, needed)
        if isinstance(item, EventRejected):
            _rejection_note(outcome, event_id, item)
            continue
        if limit_ad_tracking:
            outcome.blocked += 1
            continue
        if sequential and device:
            if device not in highest:
                # The device's first event here: start from its stored level.
                highest[device] = None if stored_main is None else (stored_main, stored_sub)
            claim = LevelClaim(device, draft.event_field, item["main_level"], item["sub_level"])
            highest[device] = claims_decide([claim], highest[device])
            if not claim.passed:
                outcome.suppressed += 1
                continue
        outcome.sent += 1
        if len(outcome.examples) < EXAMPLES:
            outcome.examples.append({"event_id": event_id, "item": item})
    return outcome


def _item_of(draft: Mapping, needed: str) -> dict[str, Any] | EventRejected:
    try:
        [(_, item)] = event_items([draft], json.loads(needed))
    except EventRejected as rejected:
        return rejected
    return item


def _needed_properties(draft: Mapping) -> JSONObject | Value:
    """Only the properties the draft reads, as a JSON object (a missing one is null, which the draft
    reads as missing, as `delivery/items.py` does), so the rows are small and often the same."""
    names = sorted({name for name in (draft.main_level_property, draft.sub_level_property,
                                      draft.description_property) if name})
    if not names:
        return Value("{}")
    return JSONObject(**{name: KeyTransform(name, "properties") for name in names})


def _events(app: App, draft: Mapping, since: int) -> Iterator[tuple[str, str, str, bool, int | None, int | None]]:
    """The stored events of the draft's name since `since`, oldest first, each with its device's stored
    level (for a sequential draft), from one query streamed CHUNK rows at a time (a server-side
    cursor on PostgreSQL), so memory stays flat however many there are."""
    events = TrackedEvent.objects.filter(app=app, timestamp__gte=since, name=draft.event_name).order_by(
        "timestamp", "pk").annotate(needed=Cast(_needed_properties(draft), TextField()))
    if draft.event_field in SEQUENTIAL_FIELDS:
        # One lookup per event through the unique (app, device, event_field) index.
        level = DeviceLevel.objects.filter(app=app, event_field=draft.event_field, device=OuterRef("device"))
        events = events.annotate(stored_main=Subquery(level.values("main_level")[:1]),
                                 stored_sub=Subquery(level.values("sub_level")[:1]))
    else:
        events = events.annotate(stored_main=Value(None, IntegerField()), stored_sub=Value(None, IntegerField()))
    return events.values_list("event_id", "device", "needed", "limit_ad_tracking", "stored_main",
                              "stored_sub").iterator(chunk_size=CHUNK)


def _rejection_note(outcome: DraftOutcome, event_id: str, rejected: EventRejected) -> None:
    for reason, messages in rejected.errors.items():
        rejection = outcome.rejections.setdefault(reason, Rejection(reason))
        rejection.count += 1
        if len(rejection.examples) < EXAMPLES:
            rejection.examples.append({"event_id": event_id, "message": " ".join(messages)})
