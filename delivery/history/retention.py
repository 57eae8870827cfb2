"""Retention: finished deliveries, their attempts and spent tracked events are deleted once old.

What goes, and what stays:
- A delivery that is finished (delivered, failed, suppressed, blocked) and was created
  before the cutoff goes, with its attempts. Pending and retrying ones always stay.
- A tracked event goes once nothing of it is left to send (no deliveries at all) and its
  own `timestamp` is older than DELIVERY_RETENTION_DAYS, whatever cutoff the caller asked
  for: its (app, event_id) row is the key that answers `duplicate`, and ingestion refuses
  events older than that (`delivery.ingest.schema`), so no repeat can be accepted after.
  The keys of erased events (`ErasedEvent`, `delivery/erasure.py`) go on the same rule.
- Rollups (`DeliveryRollup`, `RejectionRollup`), the level rule's `DeviceLevel` high-water
  marks and event names are never pruned: history and the level rule outlive the rows.

Deleting a delivery row is not a status transition (no status changes, and the rollups
keep counting it where it ended), so this lives outside `delivery.outbox.state`, the one
writer of status, schedule and lease. Each batch re-checks the status on rows it has
locked, so a failed delivery retried meanwhile (failed -> pending) is never deleted.

Everything is deleted in batches, each in its own short transaction, so a big prune never
holds SQLite's one write lock for long.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from delivery.models import Attempt, Delivery, ErasedEvent, TrackedEvent
from trackerui.accounts.idempotency import idempotent_requests_prune

logger = logging.getLogger(__name__)

FINISHED = (Delivery.Status.DELIVERED, Delivery.Status.FAILED, Delivery.Status.SUPPRESSED,
            Delivery.Status.BLOCKED)
BATCH_SIZE = 1000
PRUNE_TASK = "delivery.tasks.deliveries_prune"
SCHEDULE_NAME = "Prune old deliveries"


def retention_seconds() -> int:
    """DELIVERY_RETENTION_DAYS in seconds: how long deliveries and event_id keys are kept."""
    return settings.DELIVERY_RETENTION_DAYS * 86400


@dataclass(frozen=True)
class PruneResult:
    deliveries: int = 0
    attempts: int = 0
    tracked_events: int = 0
    # False when the time budget ran out first: what is left goes on the next run.
    complete: bool = True


def deliveries_prune(
    *,
    older_than_seconds: int,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget_seconds: float | None = None,
) -> PruneResult:
    """Delete finished deliveries created more than `older_than_seconds` ago, with their
    attempts, then tracked events older than the retention period with no deliveries left.

    With a time budget, no new batch starts once it is spent (`complete` is then False).
    """
    now = now or timezone.now()
    stop_at = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    deliveries, attempts, complete = _finished_deliveries_delete(now - timedelta(seconds=older_than_seconds),
                                                                 batch_size, stop_at)
    tracked_events = 0
    if complete:
        oldest_kept = int(now.timestamp()) - retention_seconds()
        tracked_events, complete = _spent_events_delete(oldest_kept, batch_size, stop_at)
        # The keys of erased events go when their events would have (ingestion refuses older events).
        ErasedEvent.objects.filter(timestamp__lt=oldest_kept).delete()
    return PruneResult(deliveries=deliveries, attempts=attempts, tracked_events=tracked_events, complete=complete)


def _out_of_time(stop_at: float | None) -> bool:
    return stop_at is not None and time.monotonic() >= stop_at


def _finished_deliveries_delete(cutoff: datetime, batch_size: int, stop_at: float | None) -> tuple[int, int, bool]:
    """Walk the index on `created_at` from the oldest row; return (deliveries, attempts, complete)."""
    deliveries = attempts = 0
    # Each read starts where the last batch ended, so pending and retrying rows, which
    # stay, are not read again and again.
    walked_to: datetime | None = None
    while True:
        if _out_of_time(stop_at):
            return deliveries, attempts, False
        old = Delivery.objects.filter(created_at__lt=cutoff, status__in=FINISHED)
        if walked_to is not None:
            old = old.filter(created_at__gte=walked_to)
        batch = list(old.order_by("created_at", "pk").values_list("pk", "created_at")[:batch_size])
        if not batch:
            return deliveries, attempts, True
        walked_to = batch[-1][1]
        with transaction.atomic():
            # Locked and checked again: a delivery retried since the read is pending now and stays.
            ids = list(Delivery.objects.filter(pk__in=[pk for pk, _ in batch], status__in=FINISHED)
                       .select_for_update().values_list("pk", flat=True))
            _, counts = Delivery.objects.filter(pk__in=ids).delete()
        deliveries += counts.get(Delivery._meta.label, 0)
        attempts += counts.get(Attempt._meta.label, 0)
        if len(batch) < batch_size:
            return deliveries, attempts, True


def _spent_events_delete(oldest_kept: int, batch_size: int, stop_at: float | None) -> tuple[int, bool]:
    """Delete tracked events with a timestamp before `oldest_kept` and no deliveries; return (count, complete)."""
    deleted = 0
    after_pk = 0
    has_deliveries = Exists(Delivery.objects.filter(event_id=OuterRef("pk")))
    while True:
        if _out_of_time(stop_at):
            return deleted, False
        # By primary key, so each read goes on from the last one instead of rescanning kept rows.
        ids = list(TrackedEvent.objects.filter(pk__gt=after_pk, timestamp__lt=oldest_kept).filter(~has_deliveries)
                   .order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted, True
        after_pk = ids[-1]
        with transaction.atomic():
            # Checked again in the DELETE itself.
            _, counts = TrackedEvent.objects.filter(pk__in=ids).filter(~has_deliveries).delete()
        deleted += counts.get(TrackedEvent._meta.label, 0)
        if len(ids) < batch_size:
            return deleted, True


def deliveries_prune_scheduled() -> PruneResult:
    """The daily run: prune what is older than DELIVERY_RETENTION_DAYS within one task's time.

    A task that outlives django-q2's `timeout` is killed, so the run stops starting batches
    at half of it and queues a follow-up run for the rest.
    """
    budget = Conf.TIMEOUT / 2 if Conf.TIMEOUT else None
    result = deliveries_prune(older_than_seconds=retention_seconds(), time_budget_seconds=budget)
    # The API's Idempotency-Keys are kept 24 hours (trackerui/accounts/idempotency.py).
    keys = idempotent_requests_prune()
    logger.info("Pruned %d Idempotency-Keys older than 24 hours.", keys)
    logger.info("Pruned %d deliveries, %d attempts and %d tracked events%s.", result.deliveries, result.attempts,
                result.tracked_events, "" if result.complete else "; more in a follow-up run")
    if not result.complete:
        async_task(PRUNE_TASK, task_name="prune-deliveries-continued", group="retention")
    return result
