"""The per-app circuit (docs/design.md, "The circuit").

When one app's requests keep failing in a retryable way (HTTP 5xx, a timeout, a refused
connection, a body that is not JSON), its circuit opens: its deliveries stop going out
one by one, and instead one probe at a time is sent, at intervals that double from
`CIRCUIT_FIRST_PROBE_SECONDS` to at most `CIRCUIT_MAX_PROBE_SECONDS`. The first probe
Chartboost answers (delivered, or a final answer such as 401) closes it, and then the
app's retrying deliveries are due at once. A JSON status 429 pauses the app for
`Retry-After` instead, and does not count toward opening the circuit.

This module alone writes the circuit and pause columns of `AppSendingState`. The policy is
plain values and functions, read from settings, so tests and benchmarks can scale it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from delivery import chartboost
from delivery.models import AppSendingState
from mappings.models import App

OPEN = AppSendingState.Circuit.OPEN
CLOSED = AppSendingState.Circuit.CLOSED
# Where answers come from: a batch sent one by one, an open circuit's probe, a test event
# (which is always sent and counts as a probe's answer, but never held the probe slot).
BATCH, PROBE, TEST_EVENT = "batch", "probe", "test event"


@dataclass(frozen=True)
class CircuitPolicy:
    # Retryable failures in a row that open the circuit.
    open_after: int
    first_probe_seconds: float
    max_probe_seconds: float

    @classmethod
    def from_settings(cls) -> CircuitPolicy:
        return cls(settings.CIRCUIT_OPEN_AFTER, settings.CIRCUIT_FIRST_PROBE_SECONDS,
                   settings.CIRCUIT_MAX_PROBE_SECONDS)

    def interval_after(self, current: float) -> float:
        """The wait before the next probe: the first interval, then doubling up to the cap."""
        if current <= 0:
            return self.first_probe_seconds
        return min(current * 2, self.max_probe_seconds)


@dataclass(frozen=True)
class CircuitChange:
    opened: bool = False
    closed: bool = False
    # Open or paused now: nothing more should go out for the app one by one.
    stopped: bool = False


def _probe_lease_seconds() -> float:
    """A probe is in flight for at most one request's time plus a lease; then another may go."""
    return settings.CHARTBOOST_LONGEST_REQUEST_SECONDS + settings.DELIVERY_LEASE_SECONDS


def _sending_state_locked(app_id: int) -> AppSendingState:
    AppSendingState.objects.bulk_create([AppSendingState(app_id=app_id)], ignore_conflicts=True)
    return AppSendingState.objects.select_for_update().get(app_id=app_id)


def _nothing_to_note(app_id: int, verdicts: list[chartboost.Verdict]) -> bool:
    """A healthy app's answers change nothing: its circuit is closed with no failures counted.

    Checked without a lock first, so the app's sending-state row is not written (and locked) by
    every answer of every worker while all is well.
    """
    if any(verdict.outcome == chartboost.RETRY for verdict in verdicts):
        return False
    return AppSendingState.objects.filter(app_id=app_id, circuit=CLOSED, failures=0).exists()


@dataclass(frozen=True)
class SendingState:
    """The circuit and pause columns of an app's `AppSendingState` row, as plain values."""

    circuit: str = CLOSED
    circuit_since: datetime | None = None
    failures: int = 0
    probe_interval: float = 0
    next_probe_at: datetime | None = None
    probe_until: datetime | None = None
    paused_until: datetime | None = None

    def stopped(self, now: datetime) -> bool:
        """Open or paused: nothing should go out for the app one by one."""
        return self.circuit == OPEN or bool(self.paused_until and self.paused_until > now)


SENDING_STATE_FIELDS = tuple(SendingState.__dataclass_fields__)


def circuit_step(
    state: SendingState, verdict: chartboost.Verdict, *, now: datetime, source: str, policy: CircuitPolicy
) -> SendingState:
    """The circuit's one rule: where one answer of the kind `verdict` moves an app's sending state.

    A 429 pauses; a retryable failure counts toward opening (or, while open, backs off the
    probes if it was a probe's or a test event's); any other answer closes. Pure: both the
    writer of the queue row (`requests_note`) and a batch between two writes
    (`delivery.outbox.sending._HoldBack`) call it.
    """
    if verdict.throttled:
        until = now + timedelta(seconds=verdict.pause_seconds or chartboost.retry_delay(1))
        return replace(state, paused_until=max(state.paused_until, until) if state.paused_until else until)
    if verdict.outcome != chartboost.RETRY:
        if state.circuit == OPEN:
            return replace(state, failures=0, circuit=CLOSED, circuit_since=now, probe_interval=0,
                           next_probe_at=None, probe_until=None)
        return replace(state, failures=0)
    failed = replace(state, failures=state.failures + 1)
    if state.circuit == OPEN:
        if source != BATCH:
            interval = policy.interval_after(state.probe_interval)
            failed = replace(failed, probe_interval=interval, next_probe_at=now + timedelta(seconds=interval))
        return replace(failed, probe_until=None) if source == PROBE else failed
    if failed.failures >= policy.open_after:
        interval = policy.interval_after(0)
        return replace(failed, circuit=OPEN, circuit_since=now, probe_interval=interval,
                       next_probe_at=now + timedelta(seconds=interval), probe_until=None)
    return failed


def requests_note(*, app_id: int, verdicts: list[chartboost.Verdict], now: datetime, source: str) -> CircuitChange:
    """Move the app's circuit on by what its latest requests came to, in the order they were answered.

    While it is open, answers to requests sent before it opened do not back off the
    probes: only a probe's failure (or a test event's) does.
    """
    if _nothing_to_note(app_id, verdicts):
        return CircuitChange()
    policy = CircuitPolicy.from_settings()
    with transaction.atomic():
        queue = _sending_state_locked(app_id)
        state = SendingState(**{name: getattr(queue, name) for name in SENDING_STATE_FIELDS})
        opened = closed = False
        for verdict in verdicts:
            step = circuit_step(state, verdict, now=now, source=source, policy=policy)
            if step.circuit != state.circuit:
                # A close after an open within these answers leaves "closed" (its retrying deliveries
                # become due); an open after a close leaves both.
                opened, closed = step.circuit == OPEN, closed or step.circuit == CLOSED
            state = step
        for name in SENDING_STATE_FIELDS:
            setattr(queue, name, getattr(state, name))
        queue.save(update_fields=list(SENDING_STATE_FIELDS))
    return CircuitChange(opened=opened, closed=closed, stopped=state.stopped(now))


def probe_take(*, app_id: int, now: datetime) -> bool:
    """Take the app's one probe slot, if its circuit is open, the probe is due and none is in flight."""
    until = now + timedelta(seconds=_probe_lease_seconds())
    return bool(
        AppSendingState.objects.filter(app_id=app_id, circuit=OPEN, next_probe_at__lte=now)
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lt=now))
        .update(probe_until=until)
    )


def probe_release(*, app_id: int) -> None:
    """Nothing was due to probe with: free the slot."""
    AppSendingState.objects.filter(app_id=app_id, circuit=OPEN).update(probe_until=None)


def may_send(now: datetime, *, on_sending_state: bool = False) -> Q:
    """The one rule for "may this app send now": delivery on, not archived, not paused by Chartboost (429).

    A condition on `App` rows, or on `AppSendingState` rows with `on_sending_state`. The circuit is apart:
    while it is open only its probe goes (`probe_take`), so one by one nothing does
    (`apps_sending_one_by_one`).
    """
    app, queue = ("app__", "") if on_sending_state else ("", "sending_state__")
    return Q(**{f"{app}delivery_enabled": True, f"{app}archived_at__isnull": True}) & ~Q(
        **{f"{queue}paused_until__gt": now}
    )


def apps_sending_one_by_one(app_ids: set[int], now: datetime, *, probe: bool = False) -> set[int]:
    """Those of the apps that may send now (`may_send`) with their circuit closed, in one query; with
    `probe`, the open circuit's probe may go too."""
    if not app_ids:
        return set()
    sending = App.objects.filter(may_send(now), pk__in=app_ids)
    if not probe:
        sending = sending.exclude(sending_state__circuit=OPEN)
    return set(sending.values_list("pk", flat=True))


@dataclass(frozen=True)
class CircuitView:
    """What the app page, the admin, the API and /metrics show of a circuit."""

    state: str
    since: datetime | None
    next_probe_at: datetime | None
    paused_until: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "since": self.since, "next_probe_at": self.next_probe_at,
                "paused_until": self.paused_until}


def circuit_view(sending: AppSendingState | None, now: datetime) -> CircuitView:
    """One app's circuit from its sending-state row; closed for an app that has never sent anything."""
    if sending is None:
        return CircuitView(CLOSED, None, None)
    paused = sending.paused_until if sending.paused_until and sending.paused_until > now else None
    next_probe_at = sending.next_probe_at if sending.circuit == OPEN else None
    return CircuitView(sending.circuit, sending.circuit_since, next_probe_at, paused)


def circuits_view(app_ids: list[int], now: datetime) -> dict[int, CircuitView]:
    """Each app's circuit, in one query."""
    states = AppSendingState.objects.in_bulk(app_ids)
    return {app_id: circuit_view(states.get(app_id), now) for app_id in app_ids}


def circuit_of(app: App, now: datetime) -> CircuitView:
    """The circuit of an app read with `select_related("sending_state")` (the reverse one-to-one)."""
    try:
        sending = app.sending_state
    except AppSendingState.DoesNotExist:
        sending = None
    return circuit_view(sending, now)
