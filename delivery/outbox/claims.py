"""Claiming due deliveries and handing them to workers (docs/design.md, "Claims").

Our tables are the truth; the queue only says "look at this now". A delivery may be sent
by whoever holds its lease. Claims go through `delivery.outbox.state`, which leases with
conditional UPDATEs, so two workers (or two copies of one queue message) never both hold
a row. A message that is lost, or a worker that dies, only delays a delivery until its
lease runs out; then the dispatcher claims it again.

Two ways in:
- `deliveries_queue_now(ids)`, after ingest, retry and recover commit (through the
  dispatcher's `deliveries_kick`): claim those rows now.
- `deliveries_dispatch_due()`, every dispatcher tick: pick the apps whose due hint has
  come and that may send (delivery on, not archived, not paused, circuit closed, or open
  with a probe due), then claim each app's due rows through the index on the delivery
  row alone. An app that is paused or behind an open circuit costs nothing per tick,
  however large its backlog.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.tasks import async_task

from delivery.models import AppSendingState, Delivery
from delivery.outbox import circuit, state

SEND_TASK = "delivery.tasks.deliveries_send"
# Deliveries per queue message: one worker sends them, many requests at once.
CLAIM_BATCH = 200
# At most this many messages queued per tick, so a slow Chartboost cannot pile up
# messages that outlive their leases, and at most this many for one app, so an app with a
# huge backlog leaves room for the others in every tick.
MAX_BATCHES_PER_TICK = 50
MAX_BATCHES_PER_APP_PER_TICK = 10


def enqueue_send(token: str, *, probe: bool = False, broker: Broker | None = None) -> None:
    args = (token, True) if probe else (token,)
    async_task(SEND_TASK, *args, task_name=f"send-{token}", group="deliveries", broker=broker)


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


def deliveries_queue_now(delivery_ids: list[int]) -> int:
    """Claim the given deliveries, if still due and their app may send, and queue them now.

    Returns how many batches were queued. The claims commit before any message is queued:
    a broker that is not our database (Redis) could otherwise hand a worker a token it
    cannot see yet. `delivery.outbox.dispatcher.deliveries_kick` calls it, after making sure
    the dispatcher runs.
    """
    now = timezone.now()
    due = _due_events(delivery_ids, now)
    allowed = _apps_sending({app_id for app_id, _ in due.values()}, now)
    tokens: list[str] = []
    with transaction.atomic():
        for event_ids in _whole_event_batches({event: count for event, (app_id, count) in due.items()
                                               if app_id in allowed}):
            token = state.deliveries_claim_events(event_ids, now)
            if token:
                tokens.append(token)
    enqueue_sends(tokens)
    return len(tokens)


def _due_events(delivery_ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Per event, in the order of the given ids: its app and how many of the given deliveries are still due."""
    due: dict[int, tuple[int, int]] = {}
    for chunk in state.id_chunks(delivery_ids):
        rows = (
            Delivery.objects.filter(id__in=chunk).filter(state.due_filter(now))
            .order_by("id")
            .values_list("event_id", "app_id")
        )
        for event_id, app_id in rows:
            due[event_id] = (app_id, due.get(event_id, (app_id, 0))[1] + 1)
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
    tokens: list[str] = []
    probes: list[str] = []
    for app_id, state_of_circuit in _apps_due(now):
        if len(tokens) >= max_batches:
            break
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
