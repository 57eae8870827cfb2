"""The one writer of an alert's status, schedule and lease: the outbox's conventions for our own alerts.

As for deliveries (docs/design.md, "The delivery state machine"): an alert is stored
pending and due before anything is sent; a sender claims it with a conditional UPDATE that
sets a lease token (only if it is due and nobody holds it), and records the answer only
while it still holds that lease. A worker that dies leaves the lease to run out; the next
dispatcher tick claims the alert again. Retries wait as deliveries' do
(`delivery.chartboost.retry_after`: 2, 4, 8 s ... up to 15 min) until `ALERT_RETRY_MAX_AGE`
after the first attempt, then the alert fails. A test alert is tried once: its answer is
what the person who asked for it wants to see.

    create ──► pending ──claim──► (leased) ──answer──► delivered | failed | retrying ──claim──► ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from delivery import chartboost
from delivery.alerts.models import Alert, AlertAttempt
from delivery.alerts.transport import ChannelAnswer
from delivery.outbox.state import new_lease_token

Status = Alert.Status
CLAIMS_PER_TICK = 50


@dataclass(frozen=True)
class NewAlert:
    channel_id: int
    app_id: int | None
    condition_id: int | None
    kind: str
    message: dict


def lease_seconds() -> float:
    """Longer than one send can take (connect and read timeouts), plus a delivery lease's margin."""
    return 2 * settings.ALERT_SEND_TIMEOUT_SECONDS + settings.DELIVERY_LEASE_SECONDS


def _due(now: datetime) -> Q:
    return (Q(status__in=Alert.SENDABLE, next_attempt_at__lte=now)
            & (Q(lease_until__isnull=True) | Q(lease_until__lt=now)))


def alerts_create(rows: Iterable[NewAlert], *, now: datetime | None = None) -> list[Alert]:
    """Store new alerts, pending and due now. Inside the caller's transaction."""
    now = now or timezone.now()
    return Alert.objects.bulk_create([
        Alert(channel_id=row.channel_id, app_id=row.app_id, condition_id=row.condition_id, kind=row.kind,
              message=row.message, status=Status.PENDING, next_attempt_at=now, created_at=now)
        for row in rows
    ])


def alert_claim(alert_id: int, now: datetime | None = None) -> str | None:
    """Lease one alert if it is due and nobody holds it; the lease token, or None."""
    now = now or timezone.now()
    token = new_lease_token()
    taken = Alert.objects.filter(pk=alert_id).filter(_due(now)).update(
        lease_token=token, lease_until=now + timedelta(seconds=lease_seconds()))
    return token if taken else None


def _recovered_too_soon() -> Q:
    """A `recovered` whose alert (same channel and episode) still waits to go out: it must not overtake it."""
    waiting = Alert.objects.filter(channel_id=OuterRef("channel_id"), condition_id=OuterRef("condition_id"),
                                   status__in=Alert.SENDABLE).exclude(kind=Alert.RECOVERED)
    return Q(kind=Alert.RECOVERED) & Exists(waiting)


def alerts_claim_due(now: datetime | None = None, *, limit: int = CLAIMS_PER_TICK) -> list[str]:
    """Lease the due alerts (first sends, retries whose time came, leases that ran out), one token each."""
    now = now or timezone.now()
    due = list(Alert.objects.filter(next_attempt_at__lte=now).filter(_due(now)).exclude(_recovered_too_soon())
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return [token for token in (alert_claim(alert_id, now) for alert_id in due) if token]


def alert_held(token: str) -> Alert | None:
    """The alert leased under this token, if the lease still holds."""
    return (Alert.objects.select_related("channel", "app")
            .filter(lease_token=token, lease_until__gte=timezone.now(), status__in=Alert.SENDABLE).first())


def _next(alert: Alert, outcome: ChannelAnswer, now: datetime) -> tuple[str, datetime | None, str]:
    if outcome.outcome == chartboost.DELIVERED:
        return Status.DELIVERED, None, outcome.answer
    if outcome.outcome == chartboost.FAILED or alert.kind == Alert.TEST:
        return Status.FAILED, None, outcome.answer
    first = alert.first_attempt_at or now
    wait = chartboost.retry_after(failed_attempts=alert.attempt_count + 1,
                                  seconds_since_first_attempt=(now - first).total_seconds(),
                                  max_age=settings.ALERT_RETRY_MAX_AGE)
    if wait is None:
        return Status.FAILED, None, f"Gave up after {alert.attempt_count + 1} attempts: {outcome.answer}"
    return Status.RETRYING, now + timedelta(seconds=wait), outcome.answer


def answer_record(*, alert: Alert, own: str, outcome: ChannelAnswer, started_at: datetime) -> bool:
    """Write the answer and its attempt, if `own` still holds the alert. Returns whether it did."""
    now = timezone.now()
    status, next_attempt_at, answer = _next(alert, outcome, now)
    with transaction.atomic():
        number = alert.attempt_count + 1
        written = Alert.objects.filter(pk=alert.pk, lease_token=own, status__in=Alert.SENDABLE).update(
            status=status, next_attempt_at=next_attempt_at, answer=answer, attempt_count=number,
            first_attempt_at=alert.first_attempt_at or started_at, last_attempt_at=started_at,
            lease_token="", lease_until=None)
        if written:
            AlertAttempt.objects.create(alert_id=alert.pk, number=number, started_at=started_at,
                                        outcome=outcome.outcome, http_status=outcome.http_status,
                                        answer=outcome.answer, latency_ms=outcome.latency_ms)
    return bool(written)
