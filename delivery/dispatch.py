"""Claiming deliveries and handing them to workers.

Our tables are the truth; the queue only says "look at this now". A delivery may be
sent by whoever holds its lease: `lease_token` until `lease_until`. Claims are
conditional UPDATEs that take only rows that are due and not leased, so two workers
(or two copies of one queue message) can never both hold a row. A message that is
lost, or a worker that dies, only delays a delivery until its lease runs out; then
the dispatcher (`deliveries_dispatch_due`) claims it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from delivery.models import Delivery
from mappings.models import App

SEND_TASK = "delivery.tasks.deliveries_send"
CLAIM_BATCH = 200


def new_lease_token() -> str:
    return uuid.uuid4().hex


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def due_filter(now: datetime) -> Q:
    """Sendable, due, not held by anyone, and its app has delivery switched on.

    Only columns of the delivery row, plus a subquery on apps: no join. A joined filter
    would make Django write the claiming UPDATE as `id IN (SELECT ... JOIN ...)`, and on
    PostgreSQL (READ COMMITTED) that inner SELECT is not re-checked against a row another
    worker has just leased, so two workers could both take it.
    """
    enabled_apps = App.objects.filter(delivery_enabled=True).values("id")
    return (
        Q(status__in=Delivery.SENDABLE, next_attempt_at__lte=now, app_id__in=enabled_apps)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )


def deliveries_claim(*, ids: list[int] | None = None, limit: int = CLAIM_BATCH) -> str | None:
    """Lease the due deliveries of the events among the first `limit` due rows (of the given ids, if any).

    Whole events are claimed: their deliveries share one request (SPEC §1), so a batch
    never splits one. Returns the lease token, or None when nothing was taken.
    """
    now = timezone.now()
    candidates = Delivery.objects.filter(due_filter(now))
    if ids is not None:
        candidates = candidates.filter(id__in=ids)
    event_ids = list(
        dict.fromkeys(candidates.order_by("next_attempt_at", "event_id").values_list("event_id", flat=True)[:limit])
    )
    if not event_ids:
        return None
    token = new_lease_token()
    # The due filter is repeated in the UPDATE: a row another worker leased meanwhile is skipped.
    taken = (
        Delivery.objects.filter(event_id__in=event_ids)
        .filter(due_filter(now))
        .update(lease_token=token, lease_until=lease_expiry(now))
    )
    return token if taken else None


def enqueue_send(token: str) -> None:
    async_task(SEND_TASK, token, task_name=f"send-{token}", group="deliveries")


def deliveries_kick(delivery_ids: list[int]) -> int:
    """Claim the given deliveries, if still due, and queue them for sending now.

    Called after commit by ingest, retry and recover. Returns how many batches were queued.
    Also makes sure the dispatcher runs, which sends whatever fails here again on time.
    """
    # Imported here: the dispatcher builds on this module's claims.
    from delivery.services.dispatcher import dispatcher_ensure

    dispatcher_ensure()
    queued = 0
    for start in range(0, len(delivery_ids), CLAIM_BATCH):
        token = deliveries_claim(ids=delivery_ids[start:start + CLAIM_BATCH])
        if token:
            enqueue_send(token)
            queued += 1
    return queued


def deliveries_dispatch_due(*, max_batches: int = 50) -> int:
    """Claim everything due (first sends whose message was lost, retries that are due,
    leases that ran out, apps switched back on) and queue it. Returns batches queued."""
    queued = 0
    while queued < max_batches:
        token = deliveries_claim()
        if token is None:
            break
        enqueue_send(token)
        queued += 1
    return queued
