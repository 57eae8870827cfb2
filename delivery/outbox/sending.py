"""Sending leased deliveries to Chartboost, and writing down every attempt (docs/design.md, "Sending").

A queue message carries only a lease token (see `delivery.outbox.claims`).
`deliveries_send` first swaps it for a token of its own, so a message that runs twice
sends once. The lease is the "I am sending" record: while it holds, nobody else sends
these rows; if this worker dies, the dispatcher claims them again once it runs out.

Deliveries of one tracked event share one request (their items go together in
`track_info`). The requests of a batch go out concurrently on a thread pool over one
pool of keep-alive connections per process. Answers are written promptly and in bulk: as
soon as one has come back it is written, with all that came back meanwhile, in one
transaction (`state.answers_record`). A sending slot is freed only once its answer is
written, so a process never has more than `concurrency` requests whose answers are not
written down: that is all a worker killed mid-batch can cause to be sent again.

The lease is renewed while the batch is in flight, and no request starts after the send
deadline, so a batch always ends inside django-q's task timeout; what did not start is
released and goes out with a later batch. When an app's circuit opens (or Chartboost
asks it to slow down) mid-batch, its requests not yet started are held back.

A worker that has sent its batch keeps sending (`deliveries_send_while_due`): it claims
what has become due meanwhile (`claims.deliveries_claim_next`) and sends that, polling
every `SENDER_POLL_SECONDS`, until nothing has been due for `SENDER_IDLE_SECONDS` or the
send deadline comes. A fresh delivery then reaches a worker within a poll, with no queue
message, and a stream of small ingest batches goes out gathered into larger sends.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby

import certifi
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from delivery import chartboost
from delivery.models import Delivery, TrackedEvent
from delivery.outbox import circuit, claims, dispatcher, state
from mappings.fields import UNREADABLE_TOKEN_MESSAGE, SecretUnreadable, secret_fingerprint, secret_reveal
from mappings.models import App

SEND_CONCURRENCY = 32
# How often the batch wakes to renew its lease when no answer comes back.
IDLE_WAKE_SECONDS = 0.5
# A sender looks for due deliveries this often, and stops once none was due for SENDER_IDLE_SECONDS.
SENDER_POLL_SECONDS = 0.02
SENDER_IDLE_SECONDS = 1.0
# And keeps sending for at most this long, so a worker is soon free for other messages (the
# dispatcher's successor): the next ingest starts another sender.
SENDER_RUN_SECONDS = 20.0
# How long deliveries wait, retrying, when their app's token cannot be decrypted, before it is tried again.
UNSIGNED_WAIT_SECONDS = 60


def send_deadline_seconds() -> float:
    """No request starts later than this into a batch: with one request's longest time after it,
    and a lease's worth of margin, the batch ends inside Q_CLUSTER["timeout"]."""
    deadline = (settings.Q_CLUSTER["timeout"] - settings.CHARTBOOST_LONGEST_REQUEST_SECONDS
                - 2 * settings.DELIVERY_LEASE_SECONDS)
    if deadline <= 0:
        raise ImproperlyConfigured("Q_CLUSTER['timeout'] leaves no time to send: see Q_TASK_TIMEOUT in settings.")
    return deadline


# One connection per sending thread, kept alive between batches, verified against the same CA
# bundle requests uses. Retries are ours to decide (and to record), so urllib3 makes none.
CONNECTIONS = urllib3.PoolManager(num_pools=4, maxsize=SEND_CONCURRENCY, retries=False, ca_certs=certifi.where())


@dataclass(frozen=True)
class Outgoing:
    """One request to Chartboost and the deliveries whose items it carries."""

    deliveries: list[Delivery]
    request: chartboost.SignedRequest


def deliveries_send(
    token: str, probe: bool = False, *, concurrency: int = SEND_CONCURRENCY, deadline: float | None = None
) -> int:
    """Send everything leased under `token`. Returns how many requests were sent.

    `probe` marks the one request an open circuit lets through; anything else for an app
    whose circuit is open or paused is given back unsent. At most `concurrency` requests
    are in flight at once, and none starts later than `deadline` seconds into the batch
    (by default `send_deadline_seconds()`).
    """
    own = state.deliveries_reclaim(token)
    if own is None:
        return 0
    return _send_held(own, probe=probe, concurrency=concurrency,
                      deadline=send_deadline_seconds() if deadline is None else deadline)


def _send_held(own: str, *, probe: bool, concurrency: int, deadline: float) -> int:
    try:
        outgoing = _outgoing_requests(own, probe=probe)
        return _send_all(outgoing, own, concurrency=concurrency, probe=probe, deadline=deadline)
    finally:
        state.deliveries_release(own)


def deliveries_send_while_due(*, first: str | None = None, concurrency: int = SEND_CONCURRENCY) -> int:
    """Send what the queue message's token `first` leases (if any), then keep claiming and sending
    what is due, a batch at a time, until nothing was due for SENDER_IDLE_SECONDS, or
    SENDER_RUN_SECONDS or the send deadline have passed. Returns how many requests were sent.

    The worker is noted as a sender from the start (`claims.sender_note`), so ingest and the
    dispatcher leave what is due to the senders. Each batch is sent as `deliveries_send`
    sends one, so at most `concurrency` answers are ever unwritten.
    """
    started = time.monotonic()
    ends = started + min(SENDER_RUN_SECONDS, send_deadline_seconds())
    name = claims.sender_name()
    claims.sender_note(name, until=timezone.now() + timedelta(seconds=SENDER_IDLE_SECONDS))
    claims.sender_started()
    noted = started
    sent = 0
    try:
        if first:
            sent += deliveries_send(first, concurrency=concurrency, deadline=ends - started)
        idle_since = time.monotonic()
        while (now := time.monotonic()) < ends and now - idle_since < SENDER_IDLE_SECONDS:
            if now - noted >= SENDER_IDLE_SECONDS / 2:
                claims.sender_note(name, until=timezone.now() + timedelta(seconds=SENDER_IDLE_SECONDS))
                # The watchdog: a dispatcher loop that died with another host is replaced as soon
                # as its lease lapses (one indexed read while it lives).
                dispatcher.dispatcher_ensure()
                noted = now
            own = claims.deliveries_claim_next(timezone.now())
            if own is None:
                time.sleep(SENDER_POLL_SECONDS)
                continue
            sent += _send_held(own, probe=False, concurrency=concurrency, deadline=max(0.0, ends - now))
            idle_since = time.monotonic()
    finally:
        claims.sender_note(name, until=None)
    return sent


def _outgoing_requests(own: str, *, probe: bool) -> list[Outgoing]:
    held = list(
        Delivery.objects.filter(lease_token=own, status__in=Delivery.SENDABLE)
        .select_related("event")
        .order_by("event_id", "event_field", "id")
    )
    # One query per app, not per delivery.
    apps = App.objects.in_bulk({delivery.app_id for delivery in held})
    # An app switched off, deleted, paused or behind an open circuit after these were claimed: they
    # wait, released.
    stopped = set(apps) - circuit.apps_sending_one_by_one(set(apps), timezone.now(), probe=probe)
    if stopped:
        state.deliveries_release(own, delivery_ids=[d.pk for d in held if d.app_id in stopped])
    outgoing, unsigned = _requests_sign([delivery for delivery in held if delivery.app_id not in stopped], apps)
    _unsigned_hold(own, apps, unsigned)
    state.tokens_readable_note({item.deliveries[0].app_id for item in outgoing})
    return outgoing


def _requests_sign(sendable: list[Delivery], apps: dict[int, App]) -> tuple[list[Outgoing], dict[int, list[Delivery]]]:
    """One signed request per event; and, per app whose token cannot be decrypted, its deliveries, unsent."""
    outgoing: list[Outgoing] = []
    unsigned: dict[int, list[Delivery]] = {}
    for group in (list(rows) for _, rows in groupby(sendable, key=lambda delivery: delivery.event_id)):
        app = apps[group[0].app_id]
        if app.pk in unsigned:
            unsigned[app.pk] += group
            continue
        try:
            outgoing.append(Outgoing(group, signed_request(group[0].event, app, group)))
        except SecretUnreadable:
            unsigned[app.pk] = group
    return outgoing, unsigned


def _unsigned_hold(own: str, apps: dict[int, App], unsigned: dict[int, list[Delivery]]) -> None:
    """An app whose token cannot be decrypted sends nothing, and only it: its deliveries wait, retrying,
    with the reason, while the batch goes on with every other app's. Nothing is lost: they go out
    once the token is re-entered (or the old key is added back)."""
    until = timezone.now() + timedelta(seconds=UNSIGNED_WAIT_SECONDS)
    for app_id, deliveries in sorted(unsigned.items()):
        state.deliveries_hold_unsigned(
            own=own, delivery_ids=[delivery.pk for delivery in deliveries], until=until,
            reason=token_unreadable_reason(), fingerprint=secret_fingerprint(apps[app_id].chartboost_app_token),
        )


def token_unreadable_reason() -> str:
    """A held delivery's reason: what is wrong and how to fix it, in the customer's words."""
    return f"not sent: {UNREADABLE_TOKEN_MESSAGE[0].lower()}{UNREADABLE_TOKEN_MESSAGE[1:]}"


@sensitive_variables("token")
def signed_request(event: TrackedEvent, app: App, deliveries: list[Delivery]) -> chartboost.SignedRequest:
    """The request for one tracked event. The token is decrypted here, at send time, and only kept in memory;
    SecretUnreadable when no key in TOKEN_ENCRYPTION_KEY opens it.

    A retry sends the same body as the first attempt (docs/design.md, "Guarantees"). The items are fixed at
    ingest and the timestamp is the event's own, so a retry's body and signature are the
    same, except when the customer replaced the app's token (or TRACKER_PARTY changed) in
    between: then the current one goes, which is what a token fix is for.
    """
    # The one place a delivery's token is decrypted (SecretUnreadable when no key opens it).
    token = secret_reveal(app.chartboost_app_token)
    body = chartboost.request_body(
        items=[delivery.item for delivery in deliveries],
        app_platform=app.platform,
        platform=event.platform,
        timestamp=event.timestamp,
        identifiers=event.identifiers,
        token=token,
        party=settings.TRACKER_PARTY,
        sdk_version=event.sdk_version,
    )
    headers = chartboost.request_headers(app_id=app.chartboost_app_id, app_token=token, timestamp=event.timestamp)
    return chartboost.SignedRequest(settings.CHARTBOOST_ENDPOINT, headers, body)


def request_timeout() -> tuple[float, float]:
    """(connect, read) seconds for one request to Chartboost, as `requests` takes them."""
    return (settings.CHARTBOOST_CONNECT_TIMEOUT, settings.CHARTBOOST_READ_TIMEOUT)


def _send_all(outgoing: list[Outgoing], own: str, *, concurrency: int, deadline: float, probe: bool) -> int:
    if not outgoing:
        return 0
    renew_every = max(settings.DELIVERY_LEASE_SECONDS / 3, 0.5)
    renewed = time.monotonic()
    start_by = renewed + deadline
    hold = _HoldBack(circuit.CircuitPolicy.from_settings())
    # A slot is taken before a request starts and given back once its answer is written.
    slots = threading.BoundedSemaphore(concurrency)
    sent = 0
    with ThreadPoolExecutor(max_workers=min(concurrency, len(outgoing)), thread_name_prefix="send") as pool:
        futures: dict[Future[state.Answer | None], Outgoing] = {
            pool.submit(_attempt, item, start_by, hold, slots): item for item in outgoing
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=IDLE_WAKE_SECONDS, return_when=FIRST_COMPLETED)
                answers = [answer for answer in (future.result() for future in done) if answer is not None]
                try:
                    hold.stop(state.answers_record(own=own, answers=answers, probe=probe))
                finally:
                    for _ in answers:
                        slots.release()
                sent += len(answers)
                if pending and time.monotonic() - renewed >= renew_every:
                    state.leases_renew(own)
                    renewed = time.monotonic()
        except BaseException:
            # Answers can no longer be written (the database is gone, say): start nothing more,
            # so the batch ends with what is in flight and its leases are released or run out.
            hold.abort()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return sent


class _HoldBack:
    """Which apps of a batch must send nothing more, shared by its sending threads.

    The circuit itself moves when answers are written. Between two writes, the batch
    applies the circuit's own rule (`circuit.circuit_step`) to what it has just seen, from a
    closed circuit with no failures, so an app whose requests fail `open_after` times in a
    row (or that is told to slow down) stops at once instead of at the next write.
    """

    def __init__(self, policy: circuit.CircuitPolicy) -> None:
        self.policy = policy
        self.aborted = False
        self.stopped: set[int] = set()
        self.seen: dict[int, circuit.SendingState] = {}
        self.lock = threading.Lock()

    def allows(self, app_id: int) -> bool:
        with self.lock:
            return not self.aborted and app_id not in self.stopped

    def abort(self) -> None:
        """The batch failed: no app sends anything more."""
        with self.lock:
            self.aborted = True

    def note(self, app_id: int, verdict: chartboost.Verdict) -> None:
        now = timezone.now()
        with self.lock:
            seen = circuit.circuit_step(self.seen.get(app_id, circuit.SendingState()), verdict, now=now,
                                        source=circuit.BATCH, policy=self.policy)
            self.seen[app_id] = seen
            if seen.stopped(now):
                self.stopped.add(app_id)

    def stop(self, app_ids: set[int]) -> None:
        with self.lock:
            self.stopped |= app_ids


def _attempt(
    item: Outgoing, start_by: float, hold: _HoldBack, slots: threading.BoundedSemaphore
) -> state.Answer | None:
    """Send one request, unless the batch's deadline has passed or its app was held back
    meanwhile (then None: it is released and goes with a later batch).

    The slot taken here is given back by the batch once the answer is written.
    """
    while not slots.acquire(timeout=IDLE_WAKE_SECONDS):
        if hold.aborted:
            return None
    app_id = item.deliveries[0].app_id
    if not hold.allows(app_id) or time.monotonic() > start_by:
        slots.release()
        return None
    started_at = timezone.now()
    try:
        verdict, latency_ms = chartboost.post(CONNECTIONS, item.request, timeout=request_timeout())
    except BaseException:
        slots.release()
        raise
    hold.note(app_id, verdict)
    return state.Answer(item.deliveries, verdict, item.request, started_at, timezone.now(), latency_ms)
