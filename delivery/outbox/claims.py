"""Claiming due deliveries and handing them to workers (docs/design.md, "Claims").

Our tables are the truth; the queue only says "look at this now". A delivery may be sent
by whoever holds its lease. Claims go through `delivery.outbox.state`, which leases with
conditional UPDATEs, so two workers (or two copies of one queue message) never both hold
a row. A message that is lost, or a worker that dies, only delays a delivery until its
lease runs out; then the dispatcher claims it again.

Two ways in:
- `deliveries_queue_now(ids)`, after retry and recover commit (through the dispatcher's
  `deliveries_kick`): claim those rows now. Ingest leases its new rows as it inserts them
  (`kick_lease`), and its kick queues that token as it is.
- `deliveries_dispatch_due()`, every dispatcher tick: pick the apps whose due hint has
  come and that may send (delivery on, not archived, not paused, circuit closed, or open
  with a probe due), then claim each app's due rows through the index on the delivery
  row alone. An app that is paused or behind an open circuit costs nothing per tick,
  however large its backlog.
- `deliveries_claim_next()`, by a worker that has just sent a batch: claim what became due
  meanwhile, without a queue message (`delivery.outbox.sending.deliveries_send_while_due`).

Workers that keep sending that way are *senders*, each noted in a `WorkerLease` row
(`sender:<host>:<pid>`) held for a second past its last look. While any is active, ingest
and the dispatcher claim nothing but probes (the senders pick what is due up within a poll)
and at most queue a message that starts one more sender, which leases nothing: a steady
stream of small batches goes out in full sends, not one queue message per ingest call, and
no delivery waits behind a queued message for a worker to come free.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from delivery.models import AppSendingState, Delivery, WorkerLease
from delivery.outbox import circuit, state

SEND_TASK = "delivery.tasks.deliveries_send"
# Deliveries per queue message: one worker sends them, many requests at once.
CLAIM_BATCH = 200
# At most this many messages queued per tick, so a slow Chartboost cannot pile up
# messages that outlive their leases, and at most this many for one app, so an app with a
# huge backlog leaves room for the others in every tick.
MAX_BATCHES_PER_TICK = 50
MAX_BATCHES_PER_APP_PER_TICK = 10


SENDER_PREFIX = "sender:"
# The row that says a message starting one more sender is on its way (`senders_start_if_short`),
# and how long it says so at most: long enough that a message waiting for a busy cluster's worker
# is not joined by more every few seconds, short enough that one lost with its broker (while the
# dispatcher claims and queues what is due meanwhile) is soon replaced.
SENDER_START_NAME = "sender-start"
SENDER_START_SECONDS = 10.0
# The fewest deliveries a sender's batch takes from one app when many have some due.
MIN_SHARE = 20


def enqueue_send(token: str, *, probe: bool = False, broker: Broker | None = None) -> None:
    args = (token, True) if probe else (token,)
    # A worker that ran a batch keeps sending what becomes due (not a probe: it is one request).
    async_task(SEND_TASK, *args, keep_sending=not probe, task_name=f"send-{token}", group="deliveries",
               broker=broker)


def senders_wanted() -> int:
    """How many workers may keep sending at once: as many as a cluster has. One of them runs the
    dispatcher loop, so a message that starts one more sender may wait for a free worker; it holds
    no deliveries, so nothing waits behind it."""
    return Conf.WORKERS


def senders_start_if_short(active: int) -> None:
    """Queue a message that starts one more sender (it claims for itself, so it leases nothing now),
    unless the active senders are enough or such a message is already on its way.

    On its way means the `SENDER_START_NAME` row is held: taken here for SENDER_START_SECONDS, given
    back by the sender when it starts (`sender_started`). The broker's queue length cannot say: a
    cluster takes up to `queue_limit` messages out of Redis ahead of its workers, where no count
    sees them, and at ten ingest calls a second they piled up there (sender messages that found
    nothing to do, with a kick's leased batch waiting behind them until its lease ran out: live
    events' p99 was 6.5 s beside a backfill on PostgreSQL and Redis, docs/performance.md).
    """
    if active >= senders_wanted():
        return
    now = timezone.now()
    on_its_way = WorkerLease.objects.filter(name=SENDER_START_NAME, held_until__gte=now)
    if on_its_way.exists():
        return
    # As the dispatcher takes its start row (delivery/outbox/dispatcher.py): the row, then a conditional UPDATE.
    WorkerLease.objects.get_or_create(name=SENDER_START_NAME)
    lapsed = Q(held_until__isnull=True) | Q(held_until__lt=now)
    with transaction.atomic():
        if WorkerLease.objects.filter(name=SENDER_START_NAME).filter(lapsed).update(
                holder="starting", held_until=now + timedelta(seconds=SENDER_START_SECONDS), renewed_at=now):
            # With the ORM broker the message commits together with the row.
            async_task(SEND_TASK, keep_sending=True, task_name=f"sender-{state.new_lease_token()[:12]}",
                       group="deliveries")


def sender_started() -> None:
    """A sender has started: the next one may be asked for."""
    WorkerLease.objects.filter(name=SENDER_START_NAME, held_until__isnull=False).update(held_until=None)


def senders_active(now: datetime) -> int:
    return WorkerLease.objects.filter(name__startswith=SENDER_PREFIX, held_until__gte=now).count()


def sender_name() -> str:
    return f"{SENDER_PREFIX}{socket.gethostname()[:30]}:{os.getpid()}"


def sender_note(name: str, *, until: datetime | None) -> None:
    """This worker keeps sending until `until` at least (None: it stopped)."""
    if not WorkerLease.objects.filter(name=name).update(holder=name, held_until=until, renewed_at=timezone.now()):
        WorkerLease.objects.bulk_create([WorkerLease(name=name, holder=name, held_until=until)],
                                        ignore_conflicts=True)


def deliveries_claim_next(now: datetime) -> str | None:
    """Lease a sender's next batch: up to CLAIM_BATCH due deliveries, shared among the apps with some
    that send one by one (circuit closed), so one app's backlog never holds up another. None when
    nothing is due. Probes stay the dispatcher's."""
    apps = [app_id for app_id, state_of_circuit in _apps_due(now) if state_of_circuit != circuit.OPEN]
    if not apps:
        return None
    share = max(MIN_SHARE, CLAIM_BATCH // len(apps))
    token = state.new_lease_token()
    taken = False
    for app_id in apps[:CLAIM_BATCH // share]:
        claimed, seen = state.deliveries_claim_due(app_id=app_id, now=now, limit=share, token=token)
        taken = taken or claimed is not None
        if seen < share:
            state.due_hint_advance(app_id=app_id, now=now)
    return token if taken else None


def enqueue_sends(tokens: list[str], *, probe: bool = False) -> None:
    """Queue one send message per lease token, in one transaction.

    The ORM broker then writes them in one commit, and does not close and reopen the
    database connection before each one, as it does outside a transaction.
    """
    if not tokens:
        return
    with transaction.atomic():
        broker = get_broker()
        for token in tokens:
            enqueue_send(token, probe=probe, broker=broker)


def _apps_sending(app_ids: set[int], now: datetime) -> set[int]:
    """Those of the apps whose deliveries may go out one by one now."""
    return circuit.apps_sending_one_by_one(app_ids, now)


def kick_lease(*, app_id: int, now: datetime) -> str:
    """The lease token to create the app's new deliveries under, for the kick after the commit to queue
    as it is; "" when that kick should not queue them: a sender is active (it picks them up within a
    poll), or the app may not send one by one now (the dispatcher takes them when it may).

    Inside the creating transaction. Leased as they are inserted, the rows need no second read and
    UPDATE after the commit, which took an eighth of an ingest call's time (docs/performance.md).
    """
    if senders_active(now) or not _apps_sending({app_id}, now):
        return ""
    return state.new_lease_token()


def deliveries_queue_now(delivery_ids: list[int]) -> int:
    """Claim the given deliveries, if still due and their app may send, and queue them now, as one batch.

    Returns how many batches were queued (0 or 1). One ingest call is one batch, so queueing it
    takes the same few queries whatever its size. The claim commits before the message is
    queued: a broker that is not our database (Redis) could otherwise hand a worker a token
    it cannot see yet. `delivery.outbox.dispatcher.deliveries_kick` calls it, after making
    sure the dispatcher runs.
    """
    now = timezone.now()
    active = senders_active(now)
    if active:
        # The senders claim these within a poll, together with whatever else is due.
        senders_start_if_short(active)
        return 0
    due = _due_events(delivery_ids, now)
    allowed = _apps_sending(set(due.values()), now)
    token = state.deliveries_claim_events([event for event, app_id in due.items() if app_id in allowed], now)
    if not token:
        return 0
    enqueue_sends([token])
    return 1


def _due_events(delivery_ids: list[int], now: datetime) -> dict[int, int]:
    """Per event with any of the given deliveries still due, in the order of the given ids: its app."""
    due: dict[int, int] = {}
    for chunk in state.id_chunks(delivery_ids):
        rows = (
            Delivery.objects.filter(id__in=chunk).filter(state.due_filter(now))
            .order_by("id")
            .values_list("event_id", "app_id")
        )
        due.update(rows)
    return due


def _apps_due(now: datetime) -> list[tuple[int, str]]:
    """(app id, circuit) of the apps with something due that may send now, earliest hint first."""
    return list(
        AppSendingState.objects.filter(circuit.may_send(now, on_sending_state=True), due_at__lte=now)
        .exclude(circuit=circuit.OPEN, next_probe_at__gt=now)
        .exclude(circuit=circuit.OPEN, probe_until__gt=now)
        .order_by("due_at")
        .values_list("app_id", "circuit")
    )


def deliveries_dispatch_due(*, max_batches: int = MAX_BATCHES_PER_TICK) -> int:
    """Claim everything due (first sends whose message was lost, retries that are due, leases
    that ran out, apps switched back on, probes of open circuits) and queue it. Returns batches queued."""
    now = timezone.now()
    _archived_apps_settle(now)
    # Each batch queued here starts a sender; those already active claim what is due themselves.
    active = senders_active(now)
    if active:
        senders_start_if_short(active)
        max_batches = 0
    else:
        max_batches = min(max_batches, max(0, senders_wanted() - get_broker().queue_size()))
    tokens: list[str] = []
    probes: list[str] = []
    for app_id, state_of_circuit in _apps_due(now):
        if len(tokens) >= max_batches and state_of_circuit != circuit.OPEN:
            continue
        if state_of_circuit == circuit.OPEN:
            token = _probe_claim(app_id, now)
            if token:
                probes.append(token)
            continue
        for _ in range(min(MAX_BATCHES_PER_APP_PER_TICK, max_batches - len(tokens))):
            token, seen = state.deliveries_claim_due(app_id=app_id, now=now, limit=CLAIM_BATCH)
            if token:
                tokens.append(token)
            if seen < CLAIM_BATCH:
                state.due_hint_advance(app_id=app_id, now=now)
                break
    enqueue_sends(tokens)
    enqueue_sends(probes, probe=True)
    return len(tokens) + len(probes)


def _archived_apps_settle(now: datetime) -> None:
    """Fail what an archived app still has waiting: an ingest that raced its archiving may have
    stored deliveries after it. Their creation lowered the app's due hint, so they show here."""
    archived = AppSendingState.objects.filter(due_at__lte=now, app__archived_at__isnull=False).values_list(
        "app_id", flat=True)
    for app_id in list(archived):
        state.deliveries_archive(app_id=app_id)


def _probe_claim(app_id: int, now: datetime) -> str | None:
    """One request's worth (one event's deliveries) for an open circuit's probe."""
    # Waiting behind an open circuit counts toward RETRY_MAX_AGE.
    state.deliveries_give_up_expired(app_id=app_id, now=now)
    if not circuit.probe_take(app_id=app_id, now=now):
        return None
    token, _ = state.deliveries_claim_due(app_id=app_id, now=now, limit=1)
    if token is None:
        circuit.probe_release(app_id=app_id)
        state.due_hint_advance(app_id=app_id, now=now)
    return token
