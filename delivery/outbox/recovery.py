"""Sending failed deliveries again: one (`delivery_retry`), a chosen set (`deliveries_retry`), or all of
an app's since a time (`deliveries_recover`).

A delivery sent again starts over as `pending`, due now, with a fresh retry window: the
schedule restarts at 2 s and RETRY_MAX_AGE counts from its next attempt
(`first_attempt_at` cleared, `attempts_before_window` set). Its attempts and
`attempt_count` stay: the history of what happened before is part of the audit. Rows are changed with a conditional
UPDATE on `status = failed`, so two clicks (or a click and a bulk action) resend once,
and the queue is told only after the change is committed (robustly: if the queue is
down, the dispatcher still finds the pending rows).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from delivery.models import Delivery
from delivery.outbox.claims import deliveries_kick
from mappings.models import App


class DeliveryNotFailed(Exception):
    """Only a failed delivery can be sent again; anything else is on its way or settled."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        super().__init__(
            f"Only a failed delivery can be retried; delivery {delivery.pk} is {delivery.status}."
        )


def _restart(failed: QuerySet[Delivery]) -> int:
    return failed.filter(status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING,
        reason="",
        next_attempt_at=timezone.now(),
        first_attempt_at=None,
        attempts_before_window=F("attempt_count"),
        lease_token="",
        lease_until=None,
        updated_at=timezone.now(),
    )


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    if not _restart(Delivery.objects.filter(pk=delivery.pk)):
        delivery.refresh_from_db()
        raise DeliveryNotFailed(delivery)
    delivery_ids = [delivery.pk]
    transaction.on_commit(lambda: deliveries_kick(delivery_ids), robust=True)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def deliveries_retry(*, deliveries: QuerySet[Delivery]) -> int:
    """Send again every failed delivery among `deliveries`, leaving the others as they are. Returns how many."""
    failed = deliveries.filter(status=Delivery.Status.FAILED)
    delivery_ids = list(failed.values_list("id", flat=True))
    # The same filter again, not the ids, keeps the UPDATE one short statement however many
    # there are. Anything it restarts that the ids miss is due now, so the dispatcher sends it.
    count = _restart(failed)
    if count:
        transaction.on_commit(lambda: deliveries_kick(delivery_ids), robust=True)
    return count


def deliveries_recover(*, app: App, since: datetime) -> int:
    """Send again every failed delivery of the app created at or after `since`. Returns how many.

    `since` is on creation time, like the deliveries list's `since` filter, so
    `?status=failed&since=...` lists exactly what this sends again.
    """
    return deliveries_retry(deliveries=Delivery.objects.filter(app=app, created_at__gte=since))
