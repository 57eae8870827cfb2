"""Evaluating conditions and sending alerts, on the delivery dispatcher's loop (docs/design.md, "Alerts").

`alerts_tick` runs on every tick of the one dispatcher loop (delivery/outbox/dispatcher.py):
at most every `ALERT_EVALUATE_SECONDS` across all hosts (a `WorkerLease` row taken with a
conditional UPDATE) it evaluates the conditions, and on every tick it claims the alerts that
are due and queues one message per alert. A worker sends it (`alert_send`) and records the
answer. Whatever is lost (a message, a worker killed mid-send) is claimed again once its
lease runs out. A test alert is claimed and sent at once, in the request that asked for it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from delivery.alerts import messages, state, transport
from delivery.alerts.conditions import conditions_evaluate
from delivery.alerts.models import Alert, AlertChannel
from delivery.models import WorkerLease

logger = logging.getLogger(__name__)

SEND_TASK = "delivery.tasks.alert_send"
EVALUATE_LEASE = "alerts-evaluate"


def _evaluation_due() -> bool:
    """Whether this tick evaluates: true for one caller per `ALERT_EVALUATE_SECONDS`, whichever host it is on."""
    now = timezone.now()
    WorkerLease.objects.get_or_create(name=EVALUATE_LEASE)
    return bool(WorkerLease.objects.filter(name=EVALUATE_LEASE)
                .filter(Q(held_until__isnull=True) | Q(held_until__lte=now))
                .update(holder="evaluating", renewed_at=now,
                        held_until=now + timedelta(seconds=settings.ALERT_EVALUATE_SECONDS)))


def alerts_queue_due() -> int:
    tokens = state.alerts_claim_due()
    for token in tokens:
        async_task(SEND_TASK, token, task_name=f"alert-{token}", group="alerts")
    return len(tokens)


def alerts_tick() -> None:
    """One dispatcher tick's share of alerting. Never raises: alerts must not stop deliveries."""
    try:
        if _evaluation_due():
            conditions_evaluate()
        alerts_queue_due()
    except Exception:
        logger.exception("Alerts tick failed; trying again next tick.")


def alert_send(token: str) -> bool:
    """Send the alert held under this lease token, and record what the channel said. False if the lease is gone."""
    alert = state.alert_held(token)
    if alert is None:
        return False
    started_at = timezone.now()
    answer = transport.alert_transmit(alert)
    return state.answer_record(alert=alert, own=token, outcome=answer, started_at=started_at)


def alert_test_send(channel: AlertChannel) -> Alert:
    """Store a test alert for the channel, send it now, and return it with the channel's answer."""
    now = timezone.now()
    message = messages.message_build(kind=Alert.TEST, app=None, organization_slug=channel.organization.slug,
                                     at=now, figures={})
    with transaction.atomic():
        [alert] = state.alerts_create([state.NewAlert(channel.pk, None, None, Alert.TEST, message)], now=now)
    token = state.alert_claim(alert.pk)
    if token is not None:
        alert_send(token)
    alert.refresh_from_db()
    return alert
