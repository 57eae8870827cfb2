"""Backfill: a mapping added or changed today also covers the app's stored events since a time.

`backfill_request` counts the stored events of the mapping's event name that have no delivery
for its Event ID, records who asked (the `Backfill` row is the audit), and queues
`backfill_run` on commit. The task creates the deliveries in chunks, in event-time order, each
chunk in a short transaction that:
- locks the app row (FOR NO KEY UPDATE, which live ingestion's inserts do not wait for), so two
  backfills of one app never both create a delivery for one (event, Event ID);
- reads the next events that still have none, so running it twice creates nothing the second time;
- decides the sequential rule with the same compare-and-set as ingestion
  (`delivery/ingest/levels.py::device_levels_claim`), so a device's earlier live level still counts;
- creates the deliveries through `delivery/outbox/state.py::deliveries_create`, pending ones due
  one after another at a pace of `BACKFILL_PER_SECOND` from now (not a chunk at a time: 500 rows
  falling due at once held live events up to a second behind them).

Nothing is kicked: the dispatcher claims the rows when they fall due, oldest due first, so a
live event (due when it arrives, and kicked at once) waits behind at most one second's worth of
backfill, however large the backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from delivery.ingest.levels import LevelClaim, device_levels_claim, event_items
from delivery.ingest.service import BLOCKED_REASON
from delivery.items import EventRejected
from delivery.models import Backfill, Delivery, TrackedEvent
from delivery.outbox.state import NewDelivery, deliveries_create
from mappings.models import App, Mapping
from trackerui.accounts.audit import current_actor_and_source

BACKFILL_TASK = "delivery.tasks.backfill_run"
CHUNK = 500


class NoMapping(Exception):
    """The Event ID has no active mapping in the app: there is nothing to backfill with."""

    def __init__(self, event_field: int) -> None:
        super().__init__(f"Event ID {event_field} has no active mapping in this app: add or resume it first.")


def _mapping_for(app: App, event_field: int) -> Mapping:
    mapping = app.mappings.filter(event_field=event_field, active=True).first()
    if mapping is None:
        raise NoMapping(event_field)
    return mapping


def _events_without_delivery(app: App, mapping: Mapping, since: datetime) -> QuerySet[TrackedEvent]:
    has_one = Delivery.objects.filter(event=OuterRef("pk"), event_field=mapping.event_field)
    return TrackedEvent.objects.filter(
        app=app, name=mapping.event_name, timestamp__gte=int(since.timestamp())
    ).filter(~Exists(has_one))


@transaction.atomic
def backfill_request(*, app: App, event_field: int, since: datetime) -> Backfill:
    """Record the backfill (who, when, since, Event ID, how many events it covers) and queue it."""
    mapping = _mapping_for(app, event_field)
    actor, source = current_actor_and_source()
    backfill = Backfill.objects.create(
        app=app, event_field=event_field, event_name=mapping.event_name, since=since,
        actor_type=actor.type, actor_name=actor.name[:200], source=source,
        count=_events_without_delivery(app, mapping, since).count(),
    )
    if backfill.count:
        transaction.on_commit(partial(async_task, BACKFILL_TASK, backfill.pk, task_name=f"backfill-{backfill.pk}",
                                      group="backfills"), robust=True)
    else:
        Backfill.objects.filter(pk=backfill.pk).update(finished_at=timezone.now())
    return backfill


@dataclass(slots=True)
class _Chunk:
    created: int = 0
    skipped: int = 0
    last: tuple[int, int] | None = None


def backfill_run(backfill_id: int) -> int:
    """Create the backfill's deliveries, chunk after chunk; returns how many were created. May run twice."""
    backfill = Backfill.objects.select_related("app").get(pk=backfill_id)
    since = backfill.since
    due = timezone.now()
    after: tuple[int, int] | None = None
    total = 0
    while True:
        chunk = _chunk_create(backfill, since=since, after=after, due=due)
        total += chunk.created
        if chunk.last is None:
            break
        after = chunk.last
        due += timedelta(seconds=chunk.created / settings.BACKFILL_PER_SECOND)
    Backfill.objects.filter(pk=backfill.pk).update(finished_at=timezone.now())
    return total


@transaction.atomic
def _chunk_create(backfill: Backfill, *, since: datetime, after: tuple[int, int] | None, due: datetime) -> _Chunk:
    """The next events (by event time, then id) after `after` that still have no delivery for the Event ID."""
    app = App.objects.select_for_update(no_key=True).get(pk=backfill.app_id)
    chunk = _Chunk()
    try:
        mapping = _mapping_for(app, backfill.event_field)
    except NoMapping:
        # Deleted or paused since it was asked for: what is left is not sent.
        return chunk
    events = _events_without_delivery(app, mapping, since)
    if after is not None:
        events = events.filter(Q(timestamp__gt=after[0]) | Q(timestamp=after[0], pk__gt=after[1]))
    rows = list(events.order_by("timestamp", "pk").values_list(
        "pk", "timestamp", "device", "properties", "limit_ad_tracking")[:CHUNK])
    if not rows:
        return chunk
    chunk.last = (rows[-1][1], rows[-1][0])
    new: list[NewDelivery] = []
    claims: list[tuple[int, LevelClaim]] = []
    for pk, _, device, properties, limit_ad_tracking in rows:
        try:
            [(_, item)] = event_items([mapping], properties)
        except EventRejected:
            chunk.skipped += 1
            continue
        status, reason = Delivery.Status.PENDING, ""
        if limit_ad_tracking:
            status, reason = Delivery.Status.BLOCKED, BLOCKED_REASON
        elif mapping.is_sequential and device:
            claims.append((len(new), LevelClaim(device, mapping.event_field, item["main_level"], item["sub_level"])))
        new.append(NewDelivery(pk, mapping.pk, mapping.event_field, device, item, status, reason))
    if claims:
        device_levels_claim(app_id=app.pk, claims=[claim for _, claim in claims])
        for index, claim in claims:
            if not claim.passed:
                new[index] = new[index]._replace(status=Delivery.Status.SUPPRESSED, reason=claim.reason)
    deliveries_create(app_id=app.pk, created_at=timezone.now(), rows=new, due_at=max(due, timezone.now()),
                      per_second=settings.BACKFILL_PER_SECOND)
    chunk.created = len(new)
    # Added to, not set: a second run of the same backfill (a message run twice) counts into the same row.
    Backfill.objects.filter(pk=backfill.pk).update(created=F("created") + chunk.created,
                                                   skipped=F("skipped") + chunk.skipped)
    return chunk
