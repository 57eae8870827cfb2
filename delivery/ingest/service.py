"""Taking tracked events in.

A batch is checked first without the database, then written in one short transaction:
duplicates found, levels read and decided, events and deliveries bulk-inserted, event
names remembered, rejections counted per reason (`delivery.history.rejections`).
Sending starts only after commit, so once the answer says `accepted`, the deliveries
are durably stored.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypedDict

from django.db import connection, transaction
from django.utils import timezone

from delivery.bulk_insert import max_query_params, rows_add, rows_insert_new
from delivery.counters import INGESTED, counters_add, series
from delivery.history.live import Outcome, outcomes_remember
from delivery.history.rejections import RejectionTally, accepted_count, rejections_count
from delivery.ingest.levels import LevelClaim, device_levels_claim, event_items
from delivery.ingest.schema import CleanEvent, device_digest, event_clean, event_id_digest
from delivery.items import EventRejected
from delivery.models import Delivery, ErasedEvent, EventName, TrackedEvent
from delivery.outbox.claims import kick_lease
from delivery.outbox.dispatcher import deliveries_kick
from delivery.outbox.state import NewDelivery, deliveries_create
from mappings.models import App, Mapping
from mappings.selectors import active_mappings_by_event_name

ACCEPTED = "accepted"
UNMAPPED = "unmapped"
DUPLICATE = "duplicate"
REJECTED = "rejected"
OUTCOMES = (ACCEPTED, DUPLICATE, UNMAPPED, REJECTED)
# A Segment call that carries no event for us (delivery/ingest/segment.py): counted, never stored.
IGNORED = "ignored"

BLOCKED_REASON = "Not sent: the event carried limit_ad_tracking: true (the player opted out of tracking)."
# The columns in which the rows of one batch differ (rows_insert fills in the rest).
_TRACKED_EVENT_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "device_sha256",
                         "properties", "sdk_version", "limit_ad_tracking")


class DeliveryCreated(TypedDict):
    """One delivery an accepted event made, as the ingest answer lists it."""

    id: int
    event_field: int
    status: str


class EventResult(TypedDict):
    """What became of one event of a batch, in the batch's order."""

    # As the event sent it when it can be echoed back (a string or a number), else None.
    event_id: Any
    status: str
    deliveries: list[DeliveryCreated]
    errors: dict[str, list[str]]


class IngestAnswer(TypedDict):
    """The answer to a batch (the API's 202 body): each event's result, then how many had each outcome."""

    results: list[EventResult]
    accepted: int
    duplicate: int
    unmapped: int
    rejected: int


@dataclass(slots=True)
class _NewDelivery:
    """A delivery on its way into the table: what differs between the deliveries of one batch."""

    mapping_id: int
    event_field: int
    item: dict[str, Any]
    status: str = Delivery.Status.PENDING
    reason: str = ""
    id: int | None = None


@dataclass(slots=True)
class _Fresh:
    """An event that is new for its app and passed every check, on its way into the tables."""

    index: int
    event: CleanEvent
    items: list[tuple[Mapping, dict[str, Any]]]
    tracked_id: int | None = None
    deliveries: list[_NewDelivery] = field(default_factory=list)


def events_ingest(*, app: App, events: list[Any], scan_characters: bool = True) -> IngestAnswer:
    """Ingest a batch for `app`; return the 202 answer body of the API reference.

    `scan_characters=False` only for events read from JSON text that cannot hold a control
    character (`delivery.ingest.schema.json_may_hold_control_characters`).
    """
    now = timezone.now()
    unix_now = int(now.timestamp())
    results: list[EventResult | None] = [None] * len(events)
    clean: list[tuple[int, CleanEvent]] = []
    rejections = RejectionTally()
    for index, raw in enumerate(events):
        try:
            clean.append((index, event_clean(raw, app_platform=app.platform, now=unix_now,
                                             scan_characters=scan_characters)))
        except EventRejected as rejected:
            results[index] = _result(_echo_event_id(raw), REJECTED, errors=rejected.errors)
            rejections.add(rejected.errors, raw)
    # One transaction stores the batch and counts it (the rejections, and every outcome for /metrics),
    # and notes each outcome for the Live events page.
    tracked: dict[int, int] = {}
    with transaction.atomic():
        if clean:
            tracked = _store(app, clean, results, now, rejections)
        rejections_count(app=app, tally=rejections, now=now)
        answer = _answer([result for result in results if result is not None])
        # What the rejections are a share of: every event taken in, whether or not a mapping sends it.
        accepted_count(app=app, accepted=answer[ACCEPTED] + answer[UNMAPPED], now=now)
        outcomes_remember(app_id=app.pk, outcomes=_outcomes(events, answer["results"], tracked), now=now)
        counters_add(Counter({series(INGESTED, result=outcome): answer[outcome] for outcome in OUTCOMES}))
    return answer


def calls_ignored_count(count: int) -> None:
    """Count Segment calls taken in and ignored (identify, screen, ...): `ingested_events_total{result="ignored"}`."""
    with transaction.atomic():
        counters_add(Counter({series(INGESTED, result=IGNORED): count}))


def _store(
    app: App,
    clean: list[tuple[int, CleanEvent]],
    results: list[EventResult | None],
    now: datetime,
    rejections: RejectionTally,
) -> dict[int, int]:
    """Store the new events and their deliveries; return the stored event's id by its index in the batch."""
    # Read inside the transaction: on SQLite it holds the write lock from BEGIN
    # (IMMEDIATE), so no mapping can be deleted between this read and our inserts.
    mappings = active_mappings_by_event_name(app)
    fresh = _fresh_events(app, clean, mappings, results, rejections)
    fresh = _tracked_events_create(app, fresh, results, now)
    lease = kick_lease(app_id=app.pk, now=now) if any(item.items for item in fresh) else ""
    _deliveries_create(app, fresh, now, lease_token=lease)
    event_names_remember(app=app, events=[item.event for item in fresh], now=now)
    for item in fresh:
        deliveries = [DeliveryCreated(id=d.id, event_field=d.event_field, status=d.status) for d in item.deliveries]
        results[item.index] = _result(item.event.event_id, ACCEPTED if deliveries else UNMAPPED, deliveries=deliveries)
    pending_ids = [d.id for item in fresh for d in item.deliveries if d.status == Delivery.Status.PENDING]
    if pending_ids:
        # Robust: if queueing fails after commit, the events are stored all the same and the
        # dispatcher finds the pending deliveries (leased ones once their lease lapses); the
        # caller must not see an error.
        transaction.on_commit(partial(deliveries_kick, pending_ids, leased=lease), robust=True)
    return {item.index: item.tracked_id for item in fresh if item.tracked_id is not None}


def _outcomes(events: list[Any], results: list[dict[str, Any]], tracked: dict[int, int]) -> list[Outcome]:
    """Each event's outcome for the Live events page, in the batch's order."""
    return [
        Outcome(
            event_id="" if result["event_id"] is None else str(result["event_id"]),
            name=_echo_name(raw),
            status=result["status"],
            tracked_event_pk=tracked.get(index),
            errors=result["errors"],
        )
        for index, (raw, result) in enumerate(zip(events, results, strict=True))
    ]


def _echo_name(raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and _encodable(name) else ""


def _fresh_events(
    app: App,
    clean: list[tuple[int, CleanEvent]],
    mappings: dict[str, list[Mapping]],
    results: list[EventResult | None],
    rejections: RejectionTally,
) -> list[_Fresh]:
    """Events not seen earlier in this batch nor erased, whose mappings can read their levels.

    Those whose mappings cannot are rejected, and noted in `rejections`, unless they were stored
    before (a duplicate is answered so, whatever it carries). Whether the others were stored
    before, the INSERT decides (`_tracked_events_create`).
    """
    erased = _erased_event_ids(app, [event.event_id for _, event in clean])
    seen: set[str] = set()
    fresh: list[_Fresh] = []
    unfit: list[tuple[int, CleanEvent, EventRejected]] = []
    for index, event in clean:
        if event.event_id in seen or event.event_id in erased:
            results[index] = _result(event.event_id, DUPLICATE)
            continue
        try:
            items = event_items(mappings.get(event.name, []), event.properties)
        except EventRejected as rejected:
            unfit.append((index, event, rejected))
            continue
        seen.add(event.event_id)
        fresh.append(_Fresh(index=index, event=event, items=items))
    stored = _stored_event_ids(app, [event.event_id for _, event, _ in unfit]) if unfit else set()
    for index, event, rejected in unfit:
        if event.event_id in stored:
            results[index] = _result(event.event_id, DUPLICATE)
            continue
        # Not stored, so not seen: the same event_id sent again, corrected, is new.
        results[index] = _result(event.event_id, REJECTED, errors=rejected.errors)
        # The example copies only an event's own fields, never the normalised device.
        rejections.add(rejected.errors, asdict(event))
    return fresh


def _stored_event_ids(app: App, event_ids: list[str]) -> set[str]:
    """Those of the event ids that stored events of the app carry."""
    stored: set[str] = set()
    # The app id takes one parameter of each query.
    for chunk in _chunks(event_ids, max_query_params() - 1):
        stored.update(TrackedEvent.objects.filter(app=app, event_id__in=chunk).values_list("event_id", flat=True))
    return stored


def _erased_event_ids(app: App, event_ids: list[str]) -> set[str]:
    """Those of the event ids that were erased with their device (`ErasedEvent`): taken for good."""
    if not ErasedEvent.objects.filter(app=app).exists():
        return set()
    erased: set[str] = set()
    for chunk in _chunks(event_ids, max_query_params() - 1):
        digests = {event_id_digest(event_id): event_id for event_id in chunk}
        erased.update(digests[digest] for digest in ErasedEvent.objects.filter(
            app=app, event_id_sha256__in=list(digests)).values_list("event_id_sha256", flat=True))
    return erased


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[start:start + size] for start in range(0, len(values), size)]


def _tracked_events_create(
    app: App, fresh: list[_Fresh], results: list[EventResult | None], now: datetime
) -> list[_Fresh]:
    """Insert the events; return those inserted. The unique (app, event_id) constraint decides what
    was stored before, or by a concurrent ingest meanwhile: those are skipped, and answer `duplicate`."""
    rows = [
        (e.event_id, e.name, e.timestamp, e.platform, e.identifiers, e.device, device_digest(e.device),
         e.properties, e.sdk_version, e.limit_ad_tracking)
        for e in (item.event for item in fresh)
    ]
    ids = rows_insert_new(TrackedEvent, rows, fields=_TRACKED_EVENT_FIELDS, same={"app": app.pk, "received_at": now},
                          key=("app", "event_id"))
    inserted = []
    for item in fresh:
        pk = ids.get((item.event.event_id,))
        if pk is None:
            results[item.index] = _result(item.event.event_id, DUPLICATE)
            continue
        item.tracked_id = pk
        inserted.append(item)
    return inserted


def _deliveries_create(app: App, fresh: list[_Fresh], now: datetime, *, lease_token: str) -> None:
    """One delivery per (event, mapping): blocked, else suppressed, else pending (leased under `lease_token`)."""
    claims: list[tuple[_NewDelivery, LevelClaim]] = []
    for item in fresh:
        event = item.event
        for mapping, track_item in item.items:
            delivery = _NewDelivery(mapping_id=mapping.pk, event_field=mapping.event_field, item=track_item)
            if event.limit_ad_tracking:
                # Never sent, so it never moves the device's highest level either.
                delivery.status, delivery.reason = Delivery.Status.BLOCKED, BLOCKED_REASON
            elif mapping.is_sequential:
                level = LevelClaim(event.device, mapping.event_field, track_item["main_level"],
                                   track_item["sub_level"])
                claims.append((delivery, level))
            item.deliveries.append(delivery)
    if claims:
        device_levels_claim(app_id=app.pk, claims=[level for _, level in claims])
    for delivery, level in claims:
        if not level.passed:
            delivery.status, delivery.reason = Delivery.Status.SUPPRESSED, level.reason
    rows = [
        NewDelivery(item.tracked_id, d.mapping_id, d.event_field, item.event.device, d.item, d.status, d.reason)
        for item in fresh for d in item.deliveries
    ]
    ids = deliveries_create(app_id=app.pk, created_at=now, rows=rows, lease_token=lease_token)
    for delivery, pk in zip((d for item in fresh for d in item.deliveries), ids, strict=True):
        delivery.id = pk


def event_names_remember(*, app: App, events: list[CleanEvent], now: datetime) -> None:
    """Count every event name seen, keeping first/last seen and a recent example of its properties.

    One upsert per batch (`delivery.bulk_insert.rows_add`): the count must be added to, or
    concurrent batches would lose counts.
    """
    seen: dict[str, list[Any]] = {}
    for event in events:
        entry = seen.setdefault(event.name, [0, {}])
        entry[0] += 1
        if event.properties:
            entry[1] = event.properties
    if not seen:
        return
    empty = EventName._meta.get_field("example_properties").get_db_prep_value({}, connection)
    rows_add(
        EventName,
        [(app.pk, name, now, now, count, example) for name, (count, example) in seen.items()],
        fields=("app", "name", "first_seen_at", "last_seen_at", "count", "example_properties"),
        key=("app", "name"),
        add="count",
        also=(
            "{last_seen_at} = EXCLUDED.{last_seen_at}",
            # An event without properties keeps the example we have.
            "{example_properties} = CASE WHEN EXCLUDED.{example_properties} = %s "
            "THEN {table}.{example_properties} ELSE EXCLUDED.{example_properties} END",
        ),
        also_params=[empty],
    )


def _result(
    event_id: Any,
    status: str,
    *,
    deliveries: list[DeliveryCreated] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> EventResult:
    return EventResult(event_id=event_id, status=status, deliveries=deliveries or [], errors=errors or {})


def _echo_event_id(raw: Any) -> Any:
    """What a rejected event sent as its event_id, when that can be echoed back; else None."""
    value = raw.get("event_id") if isinstance(raw, dict) else None
    if isinstance(value, str):
        # A lone surrogate cannot be written as UTF-8, so it cannot be echoed.
        return value if _encodable(value) else None
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _answer(results: list[EventResult]) -> IngestAnswer:
    counts = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result["status"]] += 1
    # Results first, then the counts in OUTCOMES order: the body's keys keep their documented order.
    return IngestAnswer(results=results, accepted=counts[ACCEPTED], duplicate=counts[DUPLICATE],
                        unmapped=counts[UNMAPPED], rejected=counts[REJECTED])
