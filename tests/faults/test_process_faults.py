"""Our own processes dying: a worker host mid-batch, every worker, the web process mid-ingest; and a
client sending ten times its rate limit (docs/reliability.md).

A killed worker repeats at most what it had on the wire: a process never holds more than
SEND_CONCURRENCY requests whose answers are not written (delivery/outbox/sending.py).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from delivery.outbox.sending import SEND_CONCURRENCY
from tests.faults.harness import HOST_LOST_RECOVERY_BOUND_SECONDS, SIZES, IngestClient, events_for, qcluster_env, stage
from tests.live_receiver import QCluster

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WORKERS_PER_CLUSTER = 2
# Slow enough answers that the backlog is still draining when the kill comes.
LATENCY_MS = 100


def test_one_worker_host_killed_mid_batch_loses_nothing(tmp_path: Path) -> None:
    with stage(tmp_path, events=SIZES.events, delivery_enabled=False, latency_ms=LATENCY_MS) as (run, web, doomed):
        survivor = QCluster(tmp_path / "survivor.log", **qcluster_env(run.sandbox.url)).start()
        try:
            IngestClient(web, run.app, run.api_key).post_all(events_for(SIZES.events))
            time.sleep(2)
            run.delivery_enable()
            run.wait_arrived(SIZES.events // 3)
            doomed.kill()
            killed = time.monotonic()
            run.finish(scenario="a worker host SIGKILLed mid-batch",
                       injected=f"one of two qclusters ({WORKERS_PER_CLUSTER} workers each) SIGKILLed",
                       fault_ended=killed, repeats_bound=WORKERS_PER_CLUSTER * SEND_CONCURRENCY,
                       recover_bound=HOST_LOST_RECOVERY_BOUND_SECONDS)
        finally:
            survivor.stop()


def test_every_worker_killed_then_restarted_loses_nothing(tmp_path: Path) -> None:
    with stage(tmp_path, events=SIZES.events, delivery_enabled=False, latency_ms=LATENCY_MS) as (run, web, workers):
        IngestClient(web, run.app, run.api_key).post_all(events_for(SIZES.events))
        run.delivery_enable()
        run.wait_arrived(SIZES.events // 3)
        workers.kill()
        time.sleep(3)
        workers.start()
        restarted = time.monotonic()
        run.finish(scenario="every worker SIGKILLed, then restarted 3 s later",
                   injected="the only qcluster SIGKILLed mid-drain", fault_ended=restarted,
                   repeats_bound=WORKERS_PER_CLUSTER * SEND_CONCURRENCY)


def test_the_web_process_killed_mid_ingest_stores_and_delivers_each_event_once(tmp_path: Path) -> None:
    count = SIZES.ingest_events
    with stage(tmp_path, events=count) as (run, web, _):
        client = IngestClient(web, run.app, run.api_key)
        sender = threading.Thread(target=client.post_all, args=(events_for(count),), kwargs={"batch": 20})
        sender.start()
        while client.tally.outcomes.total() < count // 3:
            time.sleep(0.01)
        web.kill()
        time.sleep(1)
        web.start()
        restarted = time.monotonic()
        sender.join(timeout=300)
        run.finish(scenario="the web process SIGKILLed mid-ingest", fault_ended=restarted, repeats_bound=0,
                   injected=f"gunicorn (master and workers) SIGKILLed after {count // 3} events, restarted 1 s later",
                   notes=f"client: {client.tally.network_errors} failed posts retried with the same event_ids, "
                         f"answers {dict(client.tally.outcomes)}")


def test_a_client_at_ten_times_its_rate_limit_that_honours_retry_after_loses_nothing(tmp_path: Path) -> None:
    limit = 2  # requests per second for the key
    threads = 10 * limit  # each tries again when its Retry-After ends: ten times what the key may send
    with stage(tmp_path, events=0, web_env={"INGEST_THROTTLE_RATE": f"{limit}/second"}) as (run, web, _):
        client = IngestClient(web, run.app, run.api_key)
        flood_ends = time.monotonic() + SIZES.flood_seconds
        sent = [0] * threads

        def send(thread: int) -> None:
            while time.monotonic() < flood_ends:
                client.post(events_for(1, prefix=f"t{thread}-{sent[thread]}-", first=thread * 100_000 + sent[thread]))
                sent[thread] += 1

        senders = [threading.Thread(target=send, args=(thread,)) for thread in range(threads)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=300)
        run.events = sum(sent)
        tally = client.tally
        assert tally.throttled_without_retry_after == 0
        assert tally.statuses[429] > 0 and tally.statuses[202] == run.events
        run.finish(scenario="ten times the ingest rate limit", fault_ended=time.monotonic(), repeats_bound=0,
                   injected=f"{threads} clients against a limit of {limit} requests/s for {SIZES.flood_seconds:g} s",
                   notes=f"{tally.statuses[429]} answers 429, every one with Retry-After; "
                         f"{tally.statuses[202]} accepted")
