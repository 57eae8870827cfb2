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
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, CharField, Func, Q
from django.db.models.lookups import In
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.tasks import async_task

from delivery.models import Delivery
from mappings.models import App

SEND_TASK = "delivery.tasks.deliveries_send"
CLAIM_BATCH = 200
# Far below any backend's limit on query parameters.
_IDS_PER_QUERY = 500


def new_lease_token() -> str:
    return uuid.uuid4().hex


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def due_filter(now: datetime, *, indexed: bool = True) -> Q:
    """Sendable, due, not held by anyone, and its app has delivery switched on.

    Only columns of the delivery row, plus a subquery on apps: no join. A joined filter
    would make Django write the claiming UPDATE as `id IN (SELECT ... JOIN ...)`, and on
    PostgreSQL (READ COMMITTED) that inner SELECT is not re-checked against a row another
    worker has just leased, so two workers could both take it.

    `indexed=False` is for a query that names its rows, by id or by event: the same
    conditions, with status and app read so that no index is used for them. SQLite keeps
    no statistics unless told to, and then guesses that `status IN (...) AND
    next_attempt_at <= now` (the `delivery_due` index), or the app's index, picks out
    fewer rows than the named ones: a kick then read every due row, leased ones included,
    and got slower with every delivery still waiting to be sent.
    """
    enabled_apps = App.objects.filter(delivery_enabled=True).order_by().values("id")
    if indexed:
        sendable = Q(status__in=Delivery.SENDABLE, app_id__in=enabled_apps)
    else:
        sendable = Q(In(_Unindexed("status", output_field=CharField()), Delivery.SENDABLE)) & Q(
            In(_Unindexed("app_id", output_field=BigIntegerField()), enabled_apps)
        )
    return sendable & Q(next_attempt_at__lte=now) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))


class _Unindexed(Func):
    """A column's own value, written `+column` on SQLite: its documented way to say "use no index for this".

    Other backends, which plan from statistics, read the column as it is.
    """

    template = "%(expressions)s"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra)


def deliveries_claim(*, limit: int = CLAIM_BATCH) -> str | None:
    """Lease the due deliveries of the events among the first `limit` due rows.

    Whole events are claimed: their deliveries share one request (SPEC §1), so a batch
    never splits one. Returns the lease token, or None when nothing was taken.
    """
    now = timezone.now()
    candidates = Delivery.objects.filter(due_filter(now))
    event_ids = list(
        dict.fromkeys(candidates.order_by("next_attempt_at", "event_id").values_list("event_id", flat=True)[:limit])
    )
    return _events_claim(event_ids, now, indexed=True)


def _events_claim(event_ids: list[int], now: datetime, *, indexed: bool) -> str | None:
    """Lease the due deliveries of these events under a new token; None when none was still due."""
    if not event_ids:
        return None
    token = new_lease_token()
    # The due filter is repeated in the UPDATE: a row another worker leased meanwhile is skipped.
    taken = (
        Delivery.objects.filter(event_id__in=event_ids)
        .filter(due_filter(now, indexed=indexed))
        .update(lease_token=token, lease_until=lease_expiry(now))
    )
    return token if taken else None


def enqueue_send(token: str, *, broker: Broker | None = None) -> None:
    async_task(SEND_TASK, token, task_name=f"send-{token}", group="deliveries", broker=broker)


def deliveries_kick(delivery_ids: list[int]) -> int:
    """Claim the given deliveries, if still due, and queue them for sending now.

    Called after commit by ingest, retry and recover. Returns how many batches were queued.
    Also makes sure the dispatcher runs, which sends whatever fails here again on time.

    Batches of about CLAIM_BATCH deliveries, of whole events, are formed from one read of
    which given deliveries are due, and each is claimed by its own conditional UPDATE.
    The claims commit together before any message is queued: a broker that is not our
    database (Redis) could otherwise hand a worker a token it cannot see yet.
    """
    # Imported here: the dispatcher builds on this module's claims.
    from delivery.outbox.dispatcher import dispatcher_ensure

    dispatcher_ensure()
    now = timezone.now()
    tokens: list[str] = []
    with transaction.atomic():
        for event_ids in _whole_event_batches(_due_events(delivery_ids, now)):
            token = _events_claim(event_ids, now, indexed=False)
            if token:
                tokens.append(token)
    enqueue_sends(tokens)
    return len(tokens)


def enqueue_sends(tokens: list[str]) -> None:
    """Queue one send message per lease token, in one transaction.

    The ORM broker then writes them in one commit, and does not close and reopen the
    database connection before each one, as it does outside a transaction.
    """
    if not tokens:
        return
    with transaction.atomic():
        broker = get_broker()
        for token in tokens:
            enqueue_send(token, broker=broker)


def _due_events(delivery_ids: list[int], now: datetime) -> dict[int, int]:
    """How many of the given deliveries each event has that are still due, in the order of their ids."""
    due: dict[int, int] = {}
    for start in range(0, len(delivery_ids), _IDS_PER_QUERY):
        rows = (
            Delivery.objects.filter(id__in=delivery_ids[start:start + _IDS_PER_QUERY])
            .filter(due_filter(now, indexed=False))
            .order_by("id")
            .values_list("event_id", flat=True)
        )
        for event_id in rows:
            due[event_id] = due.get(event_id, 0) + 1
    return due


def _whole_event_batches(due: dict[int, int]) -> list[list[int]]:
    """The events, in order, in batches of at most CLAIM_BATCH deliveries (or one larger event)."""
    batches: list[list[int]] = []
    size = CLAIM_BATCH
    for event_id, count in due.items():
        if size + count > CLAIM_BATCH:
            batches.append([])
            size = 0
        batches[-1].append(event_id)
        size += count
    return batches


def deliveries_dispatch_due(*, max_batches: int = 50) -> int:
    """Claim everything due (first sends whose message was lost, retries that are due,
    leases that ran out, apps switched back on) and queue it. Returns batches queued."""
    tokens: list[str] = []
    while len(tokens) < max_batches:
        token = deliveries_claim()
        if token is None:
            break
        tokens.append(token)
    enqueue_sends(tokens)
    return len(tokens)
