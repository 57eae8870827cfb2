"""django-q2 tasks: thin shells around services. A queue message carries only what to look at."""

from __future__ import annotations

from delivery.alerts import dispatch as alerts
from delivery.history import retention
from delivery.ingest import backfill
from delivery.outbox import dispatcher, sending


def deliveries_send(token: str | None = None, probe: bool = False, *, keep_sending: bool = False) -> int:
    """Send what `token` leases (None: nothing yet), then, with `keep_sending`, what becomes due."""
    if keep_sending:
        sent = sending.deliveries_send_while_due(first=token)
    else:
        sent = sending.deliveries_send(token, probe) if token else 0
    # Every busy worker also watches the dispatcher: if the loop died with another host's
    # cluster, a new one starts as soon as its lease lapses, not at the next minute's schedule.
    dispatcher.dispatcher_ensure()
    return sent


def dispatcher_run(handed_to: str | None = None) -> None:
    # The loop also evaluates alert conditions and queues due alerts (delivery/alerts/dispatch.py).
    dispatcher.dispatcher_run(handed_to, also=(alerts.alerts_tick,))


def alert_send(token: str) -> bool:
    sent = alerts.alert_send(token)
    dispatcher.dispatcher_ensure()
    return sent


def dispatcher_ensure() -> bool:
    return dispatcher.dispatcher_ensure()


def deliveries_prune() -> retention.PruneResult:
    return retention.deliveries_prune_scheduled()


def backfill_run(backfill_id: int) -> int:
    return backfill.backfill_run(backfill_id)
