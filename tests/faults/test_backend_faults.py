"""The database and the broker failing under the workers (docs/reliability.md): PostgreSQL restarted
while they send, Redis restarted while messages are queued, a queued message deleted.

These need servers the run may restart: scripts/faults.sh starts a PostgreSQL and a Redis of the
run's own and says how to restart them (FAULTS_PG_RESTART, FAULTS_REDIS_RESTART). Elsewhere, or on
SQLite with the ORM broker, they are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection
from django_q.brokers import get_broker

from delivery.outbox.sending import SEND_CONCURRENCY
from tests.faults.harness import SIZES, IngestClient, events_for, stage

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WORKERS = 2


def _restart(variable: str) -> float:
    """Run the restart command scripts/faults.sh gave; return when it was done (monotonic)."""
    subprocess.run(["bash", "-c", os.environ[variable]], check=True, timeout=60)
    return time.monotonic()


def _needs(variable: str, vendor: str | None = None) -> None:
    if vendor and connection.vendor != vendor:
        pytest.skip(f"{vendor} only: this backend is {connection.vendor}")
    if not os.environ.get(variable):
        pytest.skip(f"{variable} is not set: run through scripts/faults.sh (make faults), which starts servers "
                    "of the run's own to restart")


def test_postgresql_restarted_while_workers_send_loses_nothing(tmp_path: Path) -> None:
    _needs("FAULTS_PG_RESTART", "postgresql")
    with stage(tmp_path, events=SIZES.events, delivery_enabled=False, latency_ms=100) as (run, web, _):
        IngestClient(web, run.app, run.api_key).post_all(events_for(SIZES.events))
        run.delivery_enable()
        run.wait_arrived(SIZES.events // 3)
        connection.close()
        restarted = _restart("FAULTS_PG_RESTART")
        run.finish(scenario="PostgreSQL restarted while workers send", fault_ended=restarted,
                   injected="pg_ctl restart -m fast (every connection cut) a third into the drain",
                   repeats_bound=WORKERS * SEND_CONCURRENCY)


@pytest.mark.parametrize("fault", ["restart", "delete"])
def test_queued_messages_lost_from_redis_only_delay_their_deliveries(tmp_path: Path, fault: str) -> None:
    _needs("FAULTS_REDIS_RESTART")
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the Redis broker only: this run uses the ORM broker")
    with stage(tmp_path, events=SIZES.events, start_workers=False) as (run, web, workers):
        IngestClient(web, run.app, run.api_key).post_all(events_for(SIZES.events))
        broker = get_broker()
        queued = broker.queue_size()
        assert queued > 0, "ingest queued its deliveries' messages"
        if fault == "restart":
            _restart("FAULTS_REDIS_RESTART")
            injected = f"Redis restarted with {queued} messages queued (nothing saved: all of them lost)"
        else:
            broker.connection.lpop(broker.list_key)
            injected = f"one of {queued} queued messages deleted from Redis"
        workers.start()
        started = time.monotonic()
        run.finish(scenario=f"Redis: queued messages lost ({fault})", injected=injected, fault_ended=started,
                   repeats_bound=0, notes="time is from the workers' start")
