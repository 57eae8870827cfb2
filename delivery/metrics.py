"""The /metrics and /healthz figures.

Counters are read from their rows (written by `delivery/counters.py`). Gauges (the backlog,
the oldest due delivery, open circuits) are read when asked, from the rollups and each app's
sending-state row, never from a scan of all deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from delivery.counters import ATTEMPTS, DURATION, DURATION_BUCKETS, INGESTED, REQUESTS, series
from delivery.models import AppSendingState, Delivery, DeliveryDayRollup, MetricCounter, WorkerLease
from delivery.outbox.circuit import may_send
from delivery.outbox.dispatcher import LEASE_NAME


@dataclass(frozen=True)
class Backlog:
    """Deliveries waiting to be sent, and the age of the oldest one that is due and may go now."""

    waiting: int
    oldest_due_seconds: float
    paused_apps: int
    paused_waiting: int
    open_circuits: int
    open_circuit_waiting: int


def backlog_read(now: datetime) -> Backlog:
    waiting_by_app = dict(
        DeliveryDayRollup.objects.filter(status__in=Delivery.SENDABLE, count__gt=0)
        .values("app_id").annotate(total=Sum("count")).order_by().values_list("app_id", "total")
    )
    paused = set(
        AppSendingState.objects.filter(app_id__in=waiting_by_app).exclude(may_send(now, on_sending_state=True))
        .values_list("app_id", flat=True)
    )
    open_circuits = AppSendingState.objects.filter(circuit=AppSendingState.Circuit.OPEN)
    tripped = set(open_circuits.values_list("app_id", flat=True)) - paused
    return Backlog(
        waiting=sum(waiting_by_app.values()),
        oldest_due_seconds=_oldest_due_seconds(now, held=paused | tripped),
        paused_apps=len(paused),
        paused_waiting=sum(waiting_by_app.get(app_id, 0) for app_id in paused),
        open_circuits=len(tripped),
        open_circuit_waiting=sum(waiting_by_app.get(app_id, 0) for app_id in tripped),
    )


def _oldest_due_seconds(now: datetime, *, held: set[int]) -> float:
    """The longest any due delivery of an app that may send has waited past its time, in seconds.

    Only the apps whose due hint has come are looked at, each through the claim index.
    """
    oldest: datetime | None = None
    due_apps = AppSendingState.objects.filter(due_at__lte=now).exclude(app_id__in=held).values_list("app_id", flat=True)
    for app_id in due_apps[:100]:
        first = (Delivery.objects.filter(app_id=app_id, next_attempt_at__lte=now).order_by("next_attempt_at")
                 .values_list("next_attempt_at", flat=True).first())
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def worker_seconds_since_seen(now: datetime) -> float | None:
    """Seconds since a qcluster last reported (its dispatcher loop renews its lease every second), or None."""
    seen = WorkerLease.objects.filter(name=LEASE_NAME).values_list("renewed_at", flat=True).first()
    return None if seen is None else max(0.0, (now - seen).total_seconds())


def worker_alive(seconds_since: float | None) -> bool:
    return seconds_since is not None and seconds_since <= settings.WORKER_STALE_SECONDS


def metrics_text() -> str:
    """Every series in the Prometheus text format (version 0.0.4)."""
    now = timezone.now()
    counters = dict(((name, labels), value) for name, labels, value in
                    MetricCounter.objects.values_list("name", "labels", "value"))
    lines: list[str] = []

    def counter(name: str, help_text: str, label: str, values: tuple[str, ...]) -> None:
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} counter"])
        for item in values:
            key = series(name, **{label: item})
            lines.append(f"{name}{{{key[1]}}} {counters.get(key, 0)}")

    counter(INGESTED, "Events received, by what became of them.", "result",
            ("accepted", "duplicate", "unmapped", "rejected", "ignored"))
    counter(ATTEMPTS, "Deliveries attempted, by outcome (a request carrying three deliveries counts three).",
            "outcome", ("delivered", "retry", "failed"))
    counter(REQUESTS, "HTTP requests to Chartboost, by outcome.", "outcome", ("delivered", "retry", "failed"))
    lines.extend([f"# HELP {DURATION} Duration of requests to Chartboost.", f"# TYPE {DURATION} histogram"])
    cumulative = 0
    for bound in (*DURATION_BUCKETS, "+Inf"):
        cumulative += counters.get(series(f"{DURATION}_bucket", le=str(bound)), 0)
        lines.append(f'{DURATION}_bucket{{le="{bound}"}} {cumulative}')
    lines.append(f"{DURATION}_sum {counters.get(series(f'{DURATION}_sum_ms'), 0) / 1000:.3f}")
    lines.append(f"{DURATION}_count {counters.get(series(f'{DURATION}_count'), 0)}")
    backlog = backlog_read(now)
    for name, help_text, value in (
        ("cbtracker_backlog_deliveries", "Deliveries waiting to be sent (pending and retrying).", backlog.waiting),
        ("cbtracker_oldest_due_seconds", "How long the oldest due delivery of an app that may send has waited.",
         round(backlog.oldest_due_seconds, 3)),
        ("cbtracker_circuit_open_apps", "Apps whose circuit is open.", backlog.open_circuits),
    ):
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"])
    return "\n".join(lines) + "\n"

