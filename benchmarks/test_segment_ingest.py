"""Throughput of `POST /v1/batch` (Segment's shape) against `POST /api/v1/apps/{id}/events/`, through gunicorn.

Both go through the one ingest service, so the difference is what reading Segment's calls
costs. Sizes come from the environment: SEGMENT_BENCH_BATCH events per request (default 500),
SEGMENT_BENCH_REQUESTS requests per endpoint (default 10), SEGMENT_BENCH_WORKERS gunicorn
workers (default 1). Results go to docs/performance.md by hand. Run with
`make bench PYTEST_ARGS="-k segment -s"`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings

from mappings.services import mapping_create, write_key_create
from tests.factories import AppFactory
from tests.live_receiver import free_port, shared_database_url
from trackerui.accounts.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = int(os.environ.get("SEGMENT_BENCH_BATCH", "500"))
REQUESTS = int(os.environ.get("SEGMENT_BENCH_REQUESTS", "10"))
WORKERS = int(os.environ.get("SEGMENT_BENCH_WORKERS", "1"))
# Ports 8480-8499 are this branch's; another range may be given.
PORTS = os.environ.get("TEST_PORT_RANGE", "8480-8499")



@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[str]:
    port = free_port(PORTS)
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "DEBUG": "false", "SECURE_SSL_REDIRECT": "false",
           "SECRET_KEY": "segment-bench-secret-key-long-and-random-enough-Zq8wX3vB7nM2kL9pR4tY",
           "TOKEN_ENCRYPTION_KEY": settings.TOKEN_ENCRYPTION_KEYS[0], "ALLOWED_HOSTS": "127.0.0.1",
           "STATIC_ROOT": str(tmp_path / "static"), "INGEST_THROTTLE_RATE": "100000/second"}
    log = tmp_path / "gunicorn.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "trackerui.wsgi", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)],
            cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(log.read_text(errors="replace"))
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def ours(number: int, when: int) -> bytes:
    return json.dumps({"events": [
        {"event_id": f"o{number}-{i}", "name": "level_complete", "timestamp": when, "platform": "iOS 17.4",
         "identifiers": {"ifa": f"{number + 1:08x}{i:024x}"}, "properties": {"level": i % 50 + 1, "stage": 2}}
        for i in range(BATCH)]}).encode()


def segments(number: int, when: str) -> bytes:
    return json.dumps({"batch": [
        {"type": "track", "event": "level_complete", "messageId": f"s{number}-{i}", "timestamp": when,
         "userId": f"player-{i}", "properties": {"level": i % 50 + 1, "stage": 2},
         "context": {"os": {"name": "iOS", "version": "17.4"}, "library": {"name": "analytics-ios", "version": "4.1.8"},
                     "device": {"advertisingId": f"{number + 1:08x}{i:024x}", "adTrackingEnabled": True}}}
        for i in range(BATCH)], "sentAt": when}).encode()


Endpoint = tuple[str, list[bytes], dict[str, str]]


def rates(*endpoints: Endpoint) -> list[float]:
    """Events per second of each endpoint, their requests taken in turns so that a busy moment costs each alike."""
    spent = [0.0] * len(endpoints)
    with requests.Session() as session:
        for url, bodies, headers in endpoints:
            session.post(url, data=bodies[0], headers=headers, timeout=60)  # warm up
        for turn in range(1, REQUESTS + 1):
            for index, (url, bodies, headers) in enumerate(endpoints):
                started = time.perf_counter()
                response = session.post(url, data=bodies[turn], headers=headers, timeout=60)
                spent[index] += time.perf_counter() - started
                assert response.status_code in (200, 202), response.text[:300]
    return [BATCH * REQUESTS / seconds for seconds in spent]


def test_segment_batches_against_our_ingest_endpoint_through_gunicorn(gunicorn: str) -> None:
    app = AppFactory(platform="ios")
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level",
                   sub_level_property="stage")
    _, api_key = api_key_create(organization=app.organization)
    _, write_key = write_key_create(app=app)
    when = datetime.now(UTC) - timedelta(minutes=1)

    our_rate, segment_rate = rates(
        (f"{gunicorn}/api/v1/apps/{app.pk}/events/", [ours(n, int(when.timestamp())) for n in range(REQUESTS + 1)],
         {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}),
        (f"{gunicorn}/v1/batch", [segments(n, when.isoformat()) for n in range(REQUESTS + 1)],
         {"Authorization": requests.auth._basic_auth_str(write_key, ""), "Content-Type": "application/json"}),
    )
    print(f"\n{REQUESTS} requests of {BATCH} events, {WORKERS} gunicorn worker(s), "
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}: "
          f"/api/v1/.../events/ {our_rate:,.0f} events/s, /v1/batch {segment_rate:,.0f} events/s "
          f"({segment_rate / our_rate:.0%})")
    # Reading Segment's calls must not cost more than a fifth of the throughput.
    assert segment_rate >= 0.8 * our_rate
