"""Sending leased deliveries to Chartboost, and writing down every attempt.

A queue message carries only a lease token (see `delivery.outbox.claims`). `deliveries_send`
first swaps it for a token of its own with one conditional UPDATE, so a message that runs
twice sends once: the second run finds nothing left under the old token. The lease is the
"I am sending" record: while it holds, nobody else sends these rows; if this worker dies,
the dispatcher claims them again once the lease runs out.

Deliveries of one tracked event share one request (their items go together in
`track_info`). The requests of a batch go out concurrently on a thread pool over one
pooled keep-alive session per process. Each answer is written as it arrives, in one short
transaction, and only if we still hold the lease. The lease is renewed while a slow batch
is in flight, and no request starts after `SEND_DEADLINE_SECONDS`, so a batch always
finishes well inside django-q's task timeout; whatever did not start is released and goes
out with the next batch.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter

from delivery import chartboost
from delivery.models import Attempt, Delivery, TrackedEvent
from delivery.outbox.claims import lease_expiry, new_lease_token
from mappings.models import App

SEND_CONCURRENCY = 32
# With 15 s at most per request (5 s connect, 10 s read), a batch ends by ~55 s: well
# inside Q_CLUSTER["timeout"] (90 s), after which django-q would kill the worker.
SEND_DEADLINE_SECONDS = 40


def _pooled_session() -> requests.Session:
    session = requests.Session()
    # One connection per sending thread, kept alive between batches. Retries are ours to
    # decide (and to record), so urllib3 makes none.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=SEND_CONCURRENCY, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


SESSION = _pooled_session()


@dataclass(frozen=True)
class Outgoing:
    """One request to Chartboost and the deliveries whose items it carries."""

    deliveries: list[Delivery]
    request: chartboost.SignedRequest


@dataclass(frozen=True)
class Sent:
    verdict: chartboost.Verdict
    started_at: datetime
    finished_at: datetime
    latency_ms: int


def deliveries_send(token: str) -> int:
    """Send everything leased under `token`. Returns how many requests were sent."""
    own = deliveries_reclaim(token)
    if own is None:
        return 0
    try:
        outgoing = _outgoing_requests(own)
        return _send_all(outgoing, own)
    finally:
        _release(own)


def deliveries_reclaim(token: str) -> str | None:
    """Swap the queue message's lease token for our own; None if someone else has the rows now."""
    own = new_lease_token()
    taken = Delivery.objects.filter(lease_token=token, status__in=Delivery.SENDABLE).update(
        lease_token=own, lease_until=lease_expiry()
    )
    return own if taken else None


def _outgoing_requests(own: str) -> list[Outgoing]:
    held = list(
        Delivery.objects.filter(lease_token=own, status__in=Delivery.SENDABLE)
        .select_related("event")
        .order_by("event_id", "event_field", "id")
    )
    # One query and one decryption per app, not per delivery.
    apps = App.objects.in_bulk({delivery.app_id for delivery in held})
    # An app switched off after these were claimed: they wait, released, until it is back on.
    waiting = [delivery.pk for delivery in held if not apps[delivery.app_id].delivery_enabled]
    if waiting:
        Delivery.objects.filter(pk__in=waiting, lease_token=own).update(lease_token="", lease_until=None)
    sendable = [delivery for delivery in held if apps[delivery.app_id].delivery_enabled]
    return [
        Outgoing(group, signed_request(group[0].event, apps[group[0].app_id], group))
        for group in (list(rows) for _, rows in groupby(sendable, key=lambda delivery: delivery.event_id))
    ]


@sensitive_variables("token")
def signed_request(event: TrackedEvent, app: App, deliveries: list[Delivery]) -> chartboost.SignedRequest:
    """The request for one tracked event. The token is decrypted here, at send time, and only kept in memory.

    SPEC §2: a retry sends the same body as the first attempt. The items are fixed at
    ingest and the timestamp is the event's own, so a retry's body and signature are the
    same, except when the customer replaced the app's token (or TRACKER_PARTY changed) in
    between: then the current one goes, which is what a token fix is for.
    """
    token = app.chartboost_app_token
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


def _send_all(outgoing: list[Outgoing], own: str) -> int:
    if not outgoing:
        return 0
    renew_every = max(settings.DELIVERY_LEASE_SECONDS / 3, 0.5)
    check_every = min(renew_every, 1.0)
    renewed = time.monotonic()
    start_by = renewed + SEND_DEADLINE_SECONDS
    sent = 0
    with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(outgoing)), thread_name_prefix="send") as pool:
        futures: dict[Future[Sent | None], Outgoing] = {
            pool.submit(_attempt, item.request, request_timeout(), start_by): item for item in outgoing
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=check_every, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                if result is not None:
                    _record(futures[future], result, own)
                    sent += 1
            if pending and time.monotonic() - renewed >= renew_every:
                Delivery.objects.filter(lease_token=own).update(lease_until=lease_expiry())
                renewed = time.monotonic()
    return sent


def _attempt(request: chartboost.SignedRequest, timeout: tuple[float, float], start_by: float) -> Sent | None:
    """Send one request, unless the batch's deadline has passed (then None: it goes with the next batch)."""
    if time.monotonic() > start_by:
        return None
    started_at = timezone.now()
    verdict, latency_ms = chartboost.post(SESSION, request, timeout=timeout)
    return Sent(verdict, started_at, timezone.now(), latency_ms)


def _record(item: Outgoing, sent: Sent, own: str) -> None:
    """Write one answer: an Attempt per delivery and its new state, if we still hold it."""
    attempts = []
    with transaction.atomic():
        for delivery in item.deliveries:
            number = delivery.attempt_count + 1
            first_attempt_at = delivery.first_attempt_at or sent.started_at
            changed = Delivery.objects.filter(pk=delivery.pk, lease_token=own).update(
                **_next_state(sent, number - delivery.attempts_before_window, first_attempt_at),
                attempt_count=number,
                first_attempt_at=first_attempt_at,
                last_attempt_at=sent.started_at,
                lease_token="",
                lease_until=None,
                updated_at=sent.finished_at,
            )
            if changed:
                attempts.append(_attempt_row(delivery, number, item.request, sent))
        Attempt.objects.bulk_create(attempts)


def _next_state(sent: Sent, attempts_in_window: int, first_attempt_at: datetime) -> dict:
    verdict = sent.verdict
    if verdict.outcome == chartboost.DELIVERED:
        return {"status": Delivery.Status.DELIVERED, "next_attempt_at": None, "reason": ""}
    if verdict.outcome == chartboost.FAILED:
        return {"status": Delivery.Status.FAILED, "next_attempt_at": None, "reason": verdict.summary()}
    delay = chartboost.retry_after(
        failed_attempts=attempts_in_window,
        seconds_since_first_attempt=(sent.finished_at - first_attempt_at).total_seconds(),
        max_age=settings.RETRY_MAX_AGE,
    )
    if delay is None:
        return {
            "status": Delivery.Status.FAILED,
            "next_attempt_at": None,
            "reason": f"gave up after {attempts_in_window} attempts (the last: {verdict.summary()})",
        }
    return {
        "status": Delivery.Status.RETRYING,
        "next_attempt_at": sent.finished_at + timedelta(seconds=delay),
        "reason": f"{verdict.summary()}; next attempt in {delay} s",
    }


def _attempt_row(delivery: Delivery, number: int, request: chartboost.SignedRequest, sent: Sent) -> Attempt:
    verdict = sent.verdict
    return Attempt(
        delivery=delivery,
        number=number,
        started_at=sent.started_at,
        endpoint=request.url,
        request_headers=dict(request.headers),
        request_body=request.redacted_body,
        http_status=verdict.http_status,
        response_status=verdict.response_status,
        response_message=verdict.response_message,
        response_body=verdict.response_body,
        latency_ms=sent.latency_ms,
        error=verdict.error,
        outcome=verdict.outcome,
    )


def _release(own: str) -> None:
    Delivery.objects.filter(lease_token=own).update(lease_token="", lease_until=None)
