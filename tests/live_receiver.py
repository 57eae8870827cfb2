"""Helpers for tests that send for real: the Chartboost sandbox on 127.0.0.1, the queue, a qcluster.

Nothing here fakes our code. HTTP goes to a real local server (`delivery.sandbox`), queued
tasks are the real django-q2 messages, read through django-q2's broker API so the same tests
run on the ORM broker and on Redis, and worker tests start a real `manage.py qcluster` that
shares the test database (and the Redis queue, when REDIS_URL is set). Its fixtures reach
every test through `pytest_plugins` in tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import TestCase
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from delivery import tasks
from delivery.ingest.service import IngestAnswer, events_ingest
from delivery.models import Delivery
from delivery.outbox import state
from delivery.outbox.claims import CLAIM_BATCH, SEND_TASK
from delivery.sandbox import ChartboostSandbox
from mappings.models import App


def free_port(ports: str | None = None) -> int:
    """A port nothing listens on: the first free one of `ports` (e.g. "8400-8419"; default the
    TEST_PORT_RANGE environment variable) when a range is given, else any free one."""
    spec = ports if ports is not None else os.environ.get("TEST_PORT_RANGE", "0-0")
    first, _, last = spec.partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    pytest.fail(f"No free port in {spec}")


@contextmanager
def sandbox_as_chartboost(settings: Any, **options: Any) -> Iterator[ChartboostSandbox]:
    """Run the sandbox on a free port and point CHARTBOOST_ENDPOINT at it."""
    with ChartboostSandbox("127.0.0.1", 0, **options) as sandbox:
        settings.CHARTBOOST_ENDPOINT = sandbox.url
        yield sandbox


@pytest.fixture
def chartboost_sandbox(settings: Any) -> Iterator[ChartboostSandbox]:
    """The sandbox standing in for Chartboost for the whole test."""
    with sandbox_as_chartboost(settings) as sandbox:
        yield sandbox


def refused_url() -> str:
    """A loopback URL where nothing listens, so connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/event_service/v2/level"


Task = dict[str, Any]


def _queue_drain(broker: Broker) -> list[tuple[Any, Any]]:
    """Take every waiting message off the queue, oldest first, as (broker id, signed payload)."""
    if Conf.ORM:
        # The ORM broker's queue is a table: read it as it is. Its dequeue hands out a message
        # only once the message's lock time has passed, which never comes under a frozen clock.
        rows = list(OrmQ.objects.using(Conf.ORM).order_by("id").values_list("id", "payload"))
        OrmQ.objects.using(Conf.ORM).filter(id__in=[message_id for message_id, _ in rows]).delete()
        return rows
    messages: list[tuple[Any, Any]] = []
    # Ask for the size first: an empty Redis dequeue blocks for a second.
    while broker.queue_size():
        for message_id, payload in broker.dequeue() or []:
            broker.acknowledge(message_id)
            messages.append((message_id, payload))
    # Redis hands messages out in the order they were queued.
    return messages


def queued(func: str) -> list[Task]:
    """The queued tasks of `func`, oldest first; the queue is left holding what it held, in order."""
    broker = get_broker()
    payloads = [payload for _, payload in _queue_drain(broker)]
    for payload in payloads:
        broker.enqueue(payload)
    return [task for task in map(SignedPackage.loads, payloads) if task.get("func") == func]


def queued_take(func: str) -> list[Task]:
    """Take the queued tasks of `func` off the queue, oldest first, leaving the others queued in order."""
    broker = get_broker()
    taken = []
    for _, payload in _queue_drain(broker):
        task = SignedPackage.loads(payload)
        if task.get("func") == func:
            taken.append(task)
        else:
            broker.enqueue(payload)
    return taken


def run_queued_sends() -> int:
    """Run every queued send task here, in order, as a worker would; return how many ran."""
    sends = queued_take(SEND_TASK)
    for send in sends:
        tasks.deliveries_send(*send["args"])
    return len(sends)


def events_ingest_kicked(*, app: App, events: list[Any]) -> IngestAnswer:
    """`events_ingest` as a request runs it, its kick included.

    The kick runs after the commit, which a test's transaction never reaches: run here, it queues
    the new deliveries' lease token (they are created leased under it), for `run_queued_sends`.
    """
    with TestCase.captureOnCommitCallbacks(execute=True):
        return events_ingest(app=app, events=events)


@pytest.fixture(autouse=True)
def queue_empty_around_each_test() -> Iterator[None]:
    """Each test starts and ends with an empty queue.

    The ORM broker's queue is a table, so it is rolled back or flushed with the test database.
    A Redis queue outlives the test: without this, what one test queued would reach the next
    (and a qcluster it starts). Only this run's Redis database is touched (REDIS_URL, .ci/run).
    """
    if Conf.ORM:
        yield
        return
    broker = get_broker()
    broker.purge_queue()
    yield
    broker.purge_queue()


def deliveries_claim(*, limit: int = CLAIM_BATCH) -> str | None:
    """Lease what is due now, as one dispatcher tick would for the first app that has some (whatever its hint says)."""
    now = timezone.now()
    apps = Delivery.objects.filter(next_attempt_at__lte=now).order_by("app_id").values_list("app_id", flat=True)
    for app_id in dict.fromkeys(apps):
        token, _ = state.deliveries_claim_due(app_id=app_id, now=now, limit=limit)
        if token:
            return token
    return None


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def shared_database_url() -> str:
    """A DATABASE_URL for the test database, so a process we start shares it with the test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class QCluster:
    """A real `manage.py qcluster` in its own process group, on the test database file."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": shared_database_url(),
            "CHARTBOOST_ENDPOINT": django_settings.CHARTBOOST_ENDPOINT,
            "Q_WORKERS": "2",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> QCluster:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=django_settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole cluster at once: main process, sentinel, pusher, monitor and workers."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds: a stop can hang (django-q2 #346)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> QCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
