"""The one writer of a delivery's status, schedule and lease (docs/design.md, "The delivery state machine").

No other module writes `Delivery.status`, `reason`, `next_attempt_at`, `attempt_count`,
`attempts_before_window`, `first_attempt_at`, `retry_window_started_at`,
`last_attempt_at`, `lease_token` or `lease_until` (tests aside). Each transition below is
named, changes rows only from a known old status (a conditional UPDATE, or rows locked
first), and in the same transaction adjusts the hourly rollups
(`delivery.history.rollups`) and the app's due hint (`AppSendingState.due_at`).

| transition | from | to |
|---|---|---|
| `deliveries_create` | (new) | pending (leased, for ingest's kick), suppressed, blocked |
| claim, reclaim, renew, release (`deliveries_claim_*`, `leases_renew`, ...) | pending, retrying | leased or not |
| `answers_record` | pending, retrying, leased by the caller | delivered, failed, retrying |
| `deliveries_give_up_expired` | retrying | failed |
| `deliveries_restart_failed` | failed | pending |
| `deliveries_archive` | pending, retrying | failed |
| `deliveries_make_due` | retrying | retrying, due now |
| `deliveries_hold_unsigned` | pending, retrying, leased by the caller | retrying (or failed, window over) |

One invariant the claim index relies on: `next_attempt_at` is set exactly when the
status is pending or retrying, and it is only ever when the next attempt is due, never
a lease's expiry.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from delivery import chartboost
from delivery.bulk_insert import rows_insert, rows_update
from delivery.counters import ATTEMPTS, REQUESTS, Series, counters_add, duration_series, series
from delivery.history.rollups import RollupKey, rollup_key, rollups_adjust
from delivery.models import AppSendingState, Attempt, Delivery
from delivery.outbox import circuit
from mappings.models import App

Status = Delivery.Status
SENDABLE = Delivery.SENDABLE
LAST_DELIVERED_PRECISION = timedelta(seconds=1)
# Far below any backend's limit on query parameters, and as many as the events of one ingest call
# (delivery/api_ingest.py, MAX_EVENTS), so claiming them is one statement.
_IDS_PER_QUERY = 1000


def new_lease_token() -> str:
    return uuid.uuid4().hex


def lease_seconds() -> int:
    return settings.DELIVERY_LEASE_SECONDS


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())


def _unleased(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def due_filter(now: datetime) -> Q:
    """Sendable, due, and held by nobody: only the row's own columns, so a conditional UPDATE
    with it is atomic on PostgreSQL under READ COMMITTED too."""
    return Q(status__in=SENDABLE, next_attempt_at__lte=now) & _unleased(now)


def id_chunks(ids: list[int]) -> Iterable[list[int]]:
    """Ids in lists short enough for one query's parameters on any backend."""
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start:start + _IDS_PER_QUERY]


def _locked(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Rows locked until the transaction ends (PostgreSQL). SQLite ignores FOR UPDATE: its
    IMMEDIATE transactions already hold the one write lock from BEGIN."""
    return deliveries.select_related(None).order_by("pk").select_for_update()


# ---- the due hint -------------------------------------------------------------------


def _sending_states_lock(app_ids: set[int]) -> None:
    """Lock these apps' sending-state rows at once, in app order, before a transaction writes several of them."""
    if len(app_ids) > 1:
        list(AppSendingState.objects.select_for_update().filter(app_id__in=app_ids).order_by("app_id")
             .values_list("app_id", flat=True))


def _due_hint_lower(due: dict[int, datetime]) -> None:
    """Make each app's hint no later than the given time (creating its sending-state row if needed)."""
    for app_id, at in sorted(due.items()):
        lowered = AppSendingState.objects.filter(app_id=app_id).filter(Q(due_at__isnull=True) | Q(due_at__gt=at))
        if not lowered.update(due_at=at):
            # Either the hint is already early enough, or the app has no sending-state row yet.
            AppSendingState.objects.bulk_create([AppSendingState(app_id=app_id, due_at=at)], ignore_conflicts=True)


def due_hint_advance(*, app_id: int, now: datetime) -> None:
    """After the dispatcher has claimed everything due for the app: move its hint to when
    something may next be due.

    That is the next scheduled attempt, but no later than one lease from now: a delivery
    held by a worker that dies becomes due when its lease runs out, and a delivery created
    by a transaction that has not committed yet is not visible here. Either way it is
    looked at again within a lease.
    """
    with transaction.atomic():
        AppSendingState.objects.select_for_update().filter(app_id=app_id).first()
        waiting = Delivery.objects.filter(app_id=app_id, next_attempt_at__isnull=False)
        if not waiting.exists():
            due = None
        else:
            later = (
                waiting.filter(next_attempt_at__gt=now).order_by("next_attempt_at")
                .values_list("next_attempt_at", flat=True).first()
            )
            due = min(later, lease_expiry(now)) if later else lease_expiry(now)
        AppSendingState.objects.filter(app_id=app_id).update(due_at=due)


# ---- create -------------------------------------------------------------------------


class NewDelivery(NamedTuple):
    event_id: int
    mapping_id: int
    event_field: int
    device: str
    item: dict[str, Any]
    status: str
    reason: str


_CREATED_AS = (Status.PENDING, Status.SUPPRESSED, Status.BLOCKED)
_CREATE_FIELDS = ("event", "mapping", "event_field", "device", "item", "status", "reason", "next_attempt_at",
                  "lease_token", "lease_until")


def deliveries_create(
    *, app_id: int, created_at: datetime, rows: list[NewDelivery], due_at: datetime | None = None,
    per_second: float | None = None, lease_token: str = "",
) -> list[int]:
    """Insert new deliveries; return their ids in order. Inside the caller's transaction.

    Pending ones are due at once, or from `due_at` on, `per_second` of them a second (a backfill
    spreads its deliveries over time, so the app's live events never queue behind a chunk's worth
    that fell due at once). With `lease_token` the pending ones are created leased under it, as a
    claim would lease them (`claims.kick_lease`): the caller queues that token once it has committed.
    """
    due = due_at or created_at
    if not rows:
        return []
    for row in rows:
        if row.status not in _CREATED_AS:
            raise ValueError(f"A delivery is created pending, suppressed or blocked, not {row.status}.")
    pending = 0
    values = []
    lease_until = lease_expiry(created_at) if lease_token else None
    for row in rows:
        next_attempt_at = None
        leased: tuple[str, datetime | None] = ("", None)
        if row.status == Status.PENDING:
            # At `per_second`, the n-th pending row falls due n / per_second after `due`.
            next_attempt_at = due + timedelta(seconds=pending / per_second) if per_second else due
            leased = (lease_token, lease_until)
            pending += 1
        values.append((row.event_id, row.mapping_id, row.event_field, row.device, row.item, row.status, row.reason,
                       next_attempt_at, *leased))
    ids = rows_insert(Delivery, values, fields=_CREATE_FIELDS, same={"app": app_id, "created_at": created_at})
    # Every row falls in the same hour: count (field, status) first, then make the few keys.
    counts = Counter((row.event_field, row.status) for row in rows)
    rollups_adjust(Counter({rollup_key(app_id, created_at, event_field, status): count
                            for (event_field, status), count in counts.items()}))
    if pending:
        _due_hint_lower({app_id: due})
    return ids


# ---- leases -------------------------------------------------------------------------


def deliveries_claim_due(*, app_id: int, now: datetime, limit: int, token: str | None = None
                         ) -> tuple[str | None, int]:
    """Lease the due deliveries of the events among the app's first `limit` due rows.

    Whole events are taken, as their deliveries share one request. Returns the lease token
    (`token` when given, so several apps' rows can go in one batch; None when nothing was
    taken) and how many due rows the read saw: fewer than `limit` means the app has nothing
    more due now.
    """
    rows = list(
        # Through the index on (app, next_attempt_at) alone: `next_attempt_at` is set only on
        # sendable rows, so a status filter here would only tempt SQLite to another index.
        Delivery.objects.filter(app_id=app_id, next_attempt_at__lte=now)
        .filter(_unleased(now))
        .order_by("next_attempt_at")
        .values_list("event_id", flat=True)[:limit]
    )
    return deliveries_claim_events(list(dict.fromkeys(rows)), now, token=token), len(rows)


def deliveries_claim_events(event_ids: list[int], now: datetime, *, token: str | None = None) -> str | None:
    """Lease the due deliveries of these events under `token` (else a new one); None when none was still due."""
    if not event_ids:
        return None
    token = token or new_lease_token()
    taken = 0
    for chunk in id_chunks(event_ids):
        # The due filter is part of the UPDATE: a row another worker leased meanwhile is skipped.
        taken += Delivery.objects.filter(event_id__in=chunk).filter(due_filter(now)).update(
            lease_token=token, lease_until=lease_expiry(now)
        )
    return token if taken else None


def deliveries_reclaim(token: str) -> str | None:
    """Swap a queue message's lease token for a new one; None if the rows are no longer under it.

    A message that runs twice then sends once: the second run finds nothing under the old token.
    """
    own = new_lease_token()
    taken = Delivery.objects.filter(lease_token=token, status__in=SENDABLE).update(
        lease_token=own, lease_until=lease_expiry()
    )
    return own if taken else None


def leases_renew(own: str) -> int:
    return Delivery.objects.filter(lease_token=own, status__in=SENDABLE).update(lease_until=lease_expiry())


def deliveries_release(own: str, *, delivery_ids: list[int] | None = None) -> int:
    """Give back what is still held under `own` (all of it, or the given ids) without an attempt."""
    with transaction.atomic():
        held = Delivery.objects.filter(lease_token=own)
        if delivery_ids is not None:
            held = held.filter(pk__in=delivery_ids)
        due: dict[int, datetime] = {}
        for app_id, next_attempt_at in held.values_list("app_id", "next_attempt_at"):
            if next_attempt_at is not None:
                due[app_id] = min(due.get(app_id, next_attempt_at), next_attempt_at)
        released = held.update(lease_token="", lease_until=None)
        _due_hint_lower(due)
    return released


# ---- answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One request's answer and the deliveries whose items it carried (as read when they were leased)."""

    deliveries: list[Delivery]
    verdict: chartboost.Verdict
    request: chartboost.SignedRequest
    started_at: datetime
    finished_at: datetime
    latency_ms: int


_RECORD_FIELDS = ("status", "reason", "next_attempt_at", "attempt_count", "first_attempt_at",
                  "retry_window_started_at", "last_attempt_at", "lease_token", "lease_until", "updated_at")
_ATTEMPT_FIELDS = ("delivery", "number", "started_at", "endpoint", "request_headers", "request_body", "http_status",
                   "response_status", "response_message", "response_body", "latency_ms", "error", "outcome")


def answers_record(*, own: str, answers: list[Answer], probe: bool = False) -> set[int]:
    """Write answers in one transaction: each delivery's new state and its Attempt, if `own` still holds it.

    Then, once that has committed, tells each app's circuit what its requests came to
    (`probe`: these answer an open circuit's probe). Returns the ids of the apps whose
    sending must stop now (circuit open, or paused by a 429), so the caller holds back what
    it has not sent yet.

    Locks are taken in one order in every transition: deliveries, then rollups and
    counters, then the apps' sending-state rows (each set in key order), so concurrent writers
    never deadlock on PostgreSQL.
    """
    if not answers:
        return set()
    max_age = settings.RETRY_MAX_AGE
    with transaction.atomic():
        ids = [delivery.pk for answer in answers for delivery in answer.deliveries]
        # The status as it is now, from the locked row: the rollups move from there.
        held: dict[int, str] = {}
        for chunk in id_chunks(ids):
            held.update(_locked(Delivery.objects.filter(pk__in=chunk, lease_token=own, status__in=SENDABLE))
                        .values_list("pk", "status"))
        changed: list[Delivery] = []
        attempts: list[tuple[Any, ...]] = []
        deltas: Counter[RollupKey] = Counter()
        due: dict[int, datetime] = {}
        delivered_at: dict[int, datetime] = {}
        verdicts: dict[int, list[chartboost.Verdict]] = {}
        counted: Counter[Series] = Counter()
        for answer in answers:
            app_ids = set()
            for delivery in answer.deliveries:
                if delivery.pk not in held:
                    continue
                old = rollup_key(delivery.app_id, delivery.created_at, delivery.event_field, held[delivery.pk])
                _answer_apply(delivery, answer, max_age)
                deltas[old] -= 1
                deltas[old._replace(status=delivery.status)] += 1
                changed.append(delivery)
                attempts.append(_attempt_values(delivery, answer))
                app_ids.add(delivery.app_id)
                if delivery.status == Status.RETRYING:
                    due[delivery.app_id] = min(due.get(delivery.app_id, delivery.next_attempt_at),
                                               delivery.next_attempt_at)
                elif delivery.status == Status.DELIVERED:
                    delivered_at[delivery.app_id] = max(delivered_at.get(delivery.app_id, answer.finished_at),
                                                        answer.finished_at)
            for app_id in app_ids:
                verdicts.setdefault(app_id, []).append(answer.verdict)
            if app_ids:
                # One request; each delivery it carried is one attempt (docs/design.md, "Operations").
                counted[series(REQUESTS, outcome=answer.verdict.outcome)] += 1
                counted[series(ATTEMPTS, outcome=answer.verdict.outcome)] += sum(
                    1 for delivery in answer.deliveries if delivery.pk in held)
                counted.update(dict(duration_series(answer.latency_ms / 1000)))
        rows_update(Delivery, [(d.pk, *(getattr(d, name) for name in _RECORD_FIELDS)) for d in changed],
                    fields=_RECORD_FIELDS)
        rows_insert(Attempt, attempts, fields=_ATTEMPT_FIELDS, same={})
        rollups_adjust(deltas)
        counters_add(counted)
        _sending_states_lock(set(due) | set(delivered_at))
        _due_hint_lower(due)
        for app_id, when in sorted(delivered_at.items()):
            # To the second: the row is then written at most once a second per app, not by
            # every answer of every worker.
            AppSendingState.objects.filter(app_id=app_id).filter(
                Q(last_delivered_at__isnull=True) | Q(last_delivered_at__lt=when - LAST_DELIVERED_PRECISION)
            ).update(last_delivered_at=when)
    source = circuit.PROBE if probe else circuit.BATCH
    return {app_id for app_id, app_verdicts in sorted(verdicts.items())
            if app_verdicts_note(app_id, app_verdicts, source=source)}


def app_verdicts_note(app_id: int, verdicts: list[chartboost.Verdict], *, source: str) -> bool:
    """Tell the app's circuit what its latest requests came to (`circuit.BATCH`, `PROBE` or `TEST_EVENT`).

    When that closes the circuit, the app's retrying deliveries become due at once (in a
    transaction of their own, after the circuit's: deliveries are never locked after an
    app's sending-state row). Returns whether the app's sending must stop now.
    """
    now = timezone.now()
    change = circuit.requests_note(app_id=app_id, verdicts=verdicts, now=now, source=source)
    if change.closed:
        deliveries_make_due(app_id=app_id, now=now)
    return change.stopped


def _answer_apply(delivery: Delivery, answer: Answer, max_age: int) -> None:
    verdict = answer.verdict
    number = delivery.attempt_count + 1
    delivery.attempt_count = number
    delivery.first_attempt_at = delivery.first_attempt_at or answer.started_at
    delivery.retry_window_started_at = delivery.retry_window_started_at or answer.started_at
    delivery.last_attempt_at = answer.started_at
    delivery.lease_token, delivery.lease_until = "", None
    delivery.updated_at = answer.finished_at
    if verdict.outcome == chartboost.DELIVERED:
        delivery.status, delivery.next_attempt_at, delivery.reason = Status.DELIVERED, None, ""
        return
    if verdict.outcome == chartboost.FAILED:
        delivery.status, delivery.next_attempt_at, delivery.reason = Status.FAILED, None, verdict.summary()
        return
    in_window = number - delivery.attempts_before_window
    delay = chartboost.retry_after(
        failed_attempts=in_window,
        seconds_since_first_attempt=(answer.finished_at - delivery.retry_window_started_at).total_seconds(),
        max_age=max_age,
        pause=verdict.pause_seconds,
    )
    if delay is None:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        delivery.reason = _gave_up(in_window, verdict.summary())
        return
    delivery.status = Status.RETRYING
    delivery.next_attempt_at = answer.finished_at + timedelta(seconds=delay)
    delivery.reason = verdict.summary()


def _gave_up(attempts: int, last: str) -> str:
    return f"gave up after {attempts} attempts (the last: {last})"


def _attempt_values(delivery: Delivery, answer: Answer) -> tuple[Any, ...]:
    """An Attempt row, in the order of _ATTEMPT_FIELDS."""
    verdict = answer.verdict
    return (delivery.pk, delivery.attempt_count, answer.started_at, answer.request.url, dict(answer.request.headers),
            answer.request.redacted_body, verdict.http_status, verdict.response_status, verdict.response_message,
            verdict.response_body, answer.latency_ms, verdict.error, verdict.outcome)


# ---- a request that could not be signed ---------------------------------------------


def deliveries_hold_unsigned(*, own: str, delivery_ids: list[int], reason: str, until: datetime,
                             fingerprint: str) -> int:
    """Deliveries whose request could not be signed (their app's token cannot be decrypted):
    retrying, due again at `until`, with the reason. Returns how many were held.

    Nothing was sent, so no attempt is recorded and none is counted; `fingerprint` names the
    unreadable token on the app's sending-state row, which the app page reads (it shows the problem
    while the saved token is still that one). A retry window that has run out ends failed,
    as behind an open circuit.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.RETRY_MAX_AGE)
    with transaction.atomic():
        held: list[Delivery] = []
        for chunk in id_chunks(delivery_ids):
            held += _locked(Delivery.objects.filter(pk__in=chunk, lease_token=own, status__in=SENDABLE)).only(
                "pk", "app", "created_at", "event_field", "status", "retry_window_started_at", "attempt_count",
                "attempts_before_window", "reason")
        deltas: Counter[RollupKey] = Counter()
        due: dict[int, datetime] = {}
        for delivery in held:
            old = rollup_key(delivery.app_id, delivery.created_at, delivery.event_field, delivery.status)
            window = delivery.retry_window_started_at
            if window is not None and window <= cutoff:
                delivery.status, delivery.next_attempt_at = Status.FAILED, None
                delivery.reason = _gave_up(delivery.attempt_count - delivery.attempts_before_window, reason)
            else:
                delivery.status, delivery.next_attempt_at, delivery.reason = Status.RETRYING, until, reason
                due[delivery.app_id] = until
            delivery.lease_token, delivery.lease_until, delivery.updated_at = "", None, now
            deltas[old] -= 1
            deltas[old._replace(status=delivery.status)] += 1
        rows_update(Delivery, [(d.pk, d.status, d.next_attempt_at, d.reason, d.lease_token, d.lease_until,
                                d.updated_at) for d in held],
                    fields=("status", "next_attempt_at", "reason", "lease_token", "lease_until", "updated_at"))
        rollups_adjust(deltas)
        app_ids = {delivery.app_id for delivery in held}
        _sending_states_lock(app_ids)
        _due_hint_lower(due)
        for app_id in sorted(app_ids):
            token_unreadable_note(app_id=app_id, fingerprint=fingerprint)
    return len(held)


def token_unreadable_note(*, app_id: int, fingerprint: str) -> None:
    """Remember that the app's token (the one `fingerprint` names) could not be decrypted to sign a request."""
    if not AppSendingState.objects.filter(app_id=app_id).update(token_unreadable=fingerprint):
        AppSendingState.objects.bulk_create([AppSendingState(app_id=app_id, token_unreadable=fingerprint)],
                                            ignore_conflicts=True)
        AppSendingState.objects.filter(app_id=app_id).update(token_unreadable=fingerprint)


def tokens_readable_note(app_ids: set[int]) -> None:
    """These apps' requests were signed: any earlier note of an unreadable token is over (an old key came back)."""
    noted = AppSendingState.objects.filter(app_id__in=app_ids).exclude(token_unreadable="")
    # Read first: an UPDATE, even of no rows, would take SQLite's one write lock for every batch.
    if app_ids and noted.exists():
        noted.update(token_unreadable="")


# ---- the other transitions ----------------------------------------------------------


def deliveries_give_up_expired(*, app_id: int, now: datetime) -> int:
    """Fail the app's retrying deliveries whose retry window has run out without an attempt
    (they waited behind an open circuit, which counts toward RETRY_MAX_AGE)."""
    cutoff = now - timedelta(seconds=settings.RETRY_MAX_AGE)
    with transaction.atomic():
        expired = list(_locked(
            Delivery.objects.filter(app_id=app_id, status=Status.RETRYING, retry_window_started_at__lte=cutoff)
            .filter(_unleased(now))
        ))
        deltas: Counter[RollupKey] = Counter()
        for delivery in expired:
            key = rollup_key(app_id, delivery.created_at, delivery.event_field, Status.RETRYING)
            deltas[key] -= 1
            deltas[key._replace(status=Status.FAILED)] += 1
            delivery.status, delivery.next_attempt_at, delivery.updated_at = Status.FAILED, None, now
            # A lapsed lease goes too: a worker that still holds the old token writes nothing.
            delivery.lease_token, delivery.lease_until = "", None
            delivery.reason = _gave_up(delivery.attempt_count - delivery.attempts_before_window, delivery.reason)
        rows_update(Delivery, [(d.pk, d.status, d.next_attempt_at, d.updated_at, d.lease_token, d.lease_until,
                                d.reason) for d in expired],
                    fields=("status", "next_attempt_at", "updated_at", "lease_token", "lease_until", "reason"))
        rollups_adjust(deltas)
    return len(expired)


def deliveries_restart_failed(deliveries: QuerySet[Delivery]) -> list[int]:
    """Send failed deliveries again: pending, due now, in a new retry window. Returns their ids.

    Their attempts, `attempt_count` and `first_attempt_at` stay: what happened before is part
    of the audit. The schedule restarts at 2 s, and RETRY_MAX_AGE counts from the next attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        live = deliveries.filter(status=Status.FAILED).exclude(
            app_id__in=App.objects.filter(archived_at__isnull=False).values("pk"))
        rows = list(_locked(live).values_list("pk", "app_id", "created_at", "event_field"))
        ids = [pk for pk, _, _, _ in rows]
        for chunk in id_chunks(ids):
            Delivery.objects.filter(pk__in=chunk, status=Status.FAILED).update(
                status=Status.PENDING, reason="", next_attempt_at=now, retry_window_started_at=None,
                attempts_before_window=F("attempt_count"), lease_token="", lease_until=None, updated_at=now,
            )
        deltas: Counter[RollupKey] = Counter()
        for _, app_id, created_at, event_field in rows:
            key = rollup_key(app_id, created_at, event_field, Status.FAILED)
            deltas[key] -= 1
            deltas[key._replace(status=Status.PENDING)] += 1
        rollups_adjust(deltas)
        _due_hint_lower({app_id: now for _, app_id, _, _ in rows})
    return ids


ARCHIVED_REASON = "app deleted"


def deliveries_archive(*, app_id: int) -> int:
    """The app was deleted: everything it still had waiting ends failed. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(_locked(Delivery.objects.filter(app_id=app_id, status__in=SENDABLE))
                    .values_list("pk", "created_at", "event_field", "status"))
        for chunk in id_chunks([pk for pk, _, _, _ in rows]):
            Delivery.objects.filter(pk__in=chunk, status__in=SENDABLE).update(
                status=Status.FAILED, reason=ARCHIVED_REASON, next_attempt_at=None, lease_token="",
                lease_until=None, updated_at=now,
            )
        deltas: Counter[RollupKey] = Counter()
        for _, created_at, event_field, status in rows:
            key = rollup_key(app_id, created_at, event_field, status)
            deltas[key] -= 1
            deltas[key._replace(status=Status.FAILED)] += 1
        rollups_adjust(deltas)
        AppSendingState.objects.filter(app_id=app_id).update(due_at=None)
    return len(rows)


def deliveries_make_due(*, app_id: int, now: datetime) -> int:
    """The app's circuit closed: its retrying deliveries are due now rather than at their own next attempt."""
    with transaction.atomic():
        moved = Delivery.objects.filter(app_id=app_id, status=Status.RETRYING, next_attempt_at__gt=now).update(
            next_attempt_at=now
        )
        _due_hint_lower({app_id: now})
    return moved
