"""Sending failed deliveries again: one (`delivery_retry`), a chosen set (`deliveries_retry`), or all of
an app's since a time (`deliveries_recover`).

A delivery sent again starts over as `pending`, due now, with a fresh retry window
(`state.deliveries_restart_failed`): the schedule restarts at 2 s and RETRY_MAX_AGE
counts from its next attempt. Its attempts, `attempt_count` and `first_attempt_at` stay:
the history of what happened before is part of the audit. Only rows still `failed` are
changed, so two clicks (or a click and a bulk action) resend once,
and the queue is told only after the change is committed (robustly: if the queue is
down, the dispatcher still finds the pending rows).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from delivery.models import Delivery
from delivery.outbox.dispatcher import deliveries_kick
from delivery.outbox.state import deliveries_restart_failed
from mappings.models import App


class DeliveryNotFailed(Exception):
    """Only a failed delivery can be sent again; anything else is on its way or settled."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        super().__init__(
            f"Only a failed delivery can be retried; delivery {delivery.pk} is {delivery.status}."
        )


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    delivery_ids = deliveries_restart_failed(Delivery.objects.filter(pk=delivery.pk))
    delivery.refresh_from_db()
    if not delivery_ids:
        raise DeliveryNotFailed(delivery)
    transaction.on_commit(lambda: deliveries_kick(delivery_ids), robust=True)
    return delivery


@transaction.atomic
def deliveries_retry(*, deliveries: QuerySet[Delivery]) -> int:
    """Send again every failed delivery among `deliveries`, leaving the others as they are. Returns how many."""
    delivery_ids = deliveries_restart_failed(deliveries)
    if delivery_ids:
        transaction.on_commit(lambda: deliveries_kick(delivery_ids), robust=True)
    return len(delivery_ids)


def deliveries_recover(*, app: App, since: datetime) -> int:
    """Send again every failed delivery of the app created at or after `since`. Returns how many.

    `since` is on creation time, like the deliveries list's `since` filter, so
    `?status=failed&since=...` lists exactly what this sends again.
    """
    return deliveries_retry(deliveries=Delivery.objects.filter(app=app, created_at__gte=since))
