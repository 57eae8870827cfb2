"""The fault suite's stage: a real web server, real `qcluster` workers, the sandbox as Chartboost.

Events go in through the HTTP API of a gunicorn (`Web`), real `manage.py qcluster` processes
send them (`tests.live_receiver.QCluster`), and the product's own sandbox (`delivery/sandbox.py`)
answers as Chartboost, recording every request. `Run.finish` then reads what happened from the
sandbox's record and our tables: lost events, repeats, and how long after the fault ended the
backlog was empty. Sizes come from the environment (`Sizes`), so CI runs every scenario scaled
down and `make faults` at full size.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection
from django.db.utils import InterfaceError
from django.utils import timezone

from delivery.models import Delivery, TrackedEvent, WorkerLease
from delivery.outbox.dispatcher import LEASE_NAME
from delivery.sandbox import ChartboostSandbox, Received
from mappings.models import App
from mappings.services import mapping_create
from tests.factories import AppFactory
from tests.live_receiver import QCluster, free_port, shared_database_url
from trackerui.accounts.models import ApiKey
from trackerui.accounts.services import api_key_create

FULL = {
    "FAULTS_EVENTS": 2000, "FAULTS_INGEST_EVENTS": 1000, "FAULTS_OUTAGE_SECONDS": 60,
    "FAULTS_LONG_OUTAGE_SECONDS": 600, "FAULTS_FLOOD_SECONDS": 30, "FAULTS_CUT_SECONDS": 30,
    "FAULTS_READ_TIMEOUT": 10, "FAULTS_DRAIN_TIMEOUT": 300,
}
CI = {
    "FAULTS_EVENTS": 200, "FAULTS_INGEST_EVENTS": 200, "FAULTS_OUTAGE_SECONDS": 6,
    "FAULTS_LONG_OUTAGE_SECONDS": 25, "FAULTS_FLOOD_SECONDS": 3, "FAULTS_CUT_SECONDS": 8,
    "FAULTS_READ_TIMEOUT": 1, "FAULTS_DRAIN_TIMEOUT": 120,
}
# Whatever the outage lasted, the backlog is empty this long after it ended (docs/reliability.md).
RECOVERY_BOUND_SECONDS = 30
# A host that dies running the dispatcher loop, with no traffic coming in, is replaced by the
# once-a-minute schedule, which django-q2's scheduler runs up to 30 s late: a minute and a half at
# most, plus a lease (docs/reliability.md, "What we do not promise").
HOST_LOST_RECOVERY_BOUND_SECONDS = 100
SANDBOX_LATENCY_MS = 20
# One secret for the web process and the workers: django-q2 signs every queue message with
# SECRET_KEY, and a worker drops a message signed with another (BadSignature).
SECRET_KEY = "faults-suite-secret-key-long-and-random-enough-Xk3v9QpL7wR2tZ8m"


def shared_secrets() -> dict[str, str]:
    """SECRET_KEY for queue messages, and the key that opens the tokens this test process stored."""
    return {"SECRET_KEY": SECRET_KEY, "TOKEN_ENCRYPTION_KEY": ",".join(settings.TOKEN_ENCRYPTION_KEYS)}


@dataclass(frozen=True)
class Sizes:
    """The scenarios' sizes: FAULTS_SIZE=full or ci picks a preset, and each FAULTS_* variable overrides it."""

    events: int
    ingest_events: int
    outage_seconds: float
    long_outage_seconds: float
    flood_seconds: float
    cut_seconds: float
    read_timeout: float
    drain_timeout: float

    @classmethod
    def from_env(cls) -> Sizes:
        preset = FULL if os.environ.get("FAULTS_SIZE", "ci") == "full" else CI
        value = {name: float(os.environ.get(name, default)) for name, default in preset.items()}
        return cls(int(value["FAULTS_EVENTS"]), int(value["FAULTS_INGEST_EVENTS"]), value["FAULTS_OUTAGE_SECONDS"],
                   value["FAULTS_LONG_OUTAGE_SECONDS"], value["FAULTS_FLOOD_SECONDS"], value["FAULTS_CUT_SECONDS"],
                   value["FAULTS_READ_TIMEOUT"], value["FAULTS_DRAIN_TIMEOUT"])


SIZES = Sizes.from_env()


def backend() -> str:
    return "postgresql+redis" if connection.vendor == "postgresql" and os.environ.get("REDIS_URL") else "sqlite+orm"



def _db_retry(read: Callable[[], Any]) -> Any:
    """Read through a database that may be restarting: a broken connection is dropped and tried again."""
    for _ in range(100):
        try:
            return read()
        except (OperationalError, InterfaceError):
            connection.close()
            time.sleep(0.3)
    return read()


class Web:
    """`gunicorn trackerui.wsgi` with two sync workers on the test database, in its own process group."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "DEBUG": "false", "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1",
                    **shared_secrets(), "DATABASE_URL": shared_database_url(), "PYTHONUNBUFFERED": "1", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Web:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "trackerui.wsgi", "--config", "gunicorn.conf.py",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", "2"],
                cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("gunicorn did not listen within 30 s")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a host losing power would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
        self.kill()


@dataclass
class IngestTally:
    """What the client saw: answers by status, 429s without Retry-After, and each event's outcome."""

    statuses: Counter[int] = field(default_factory=Counter)
    throttled_without_retry_after: int = 0
    network_errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class IngestClient:
    """A game backend: posts batches of events and retries each with the same event_ids until answered.

    A 429 is honoured (it waits `Retry-After`); a refused connection or a 5xx is retried after a moment.
    """

    def __init__(self, web: Web, app: App, api_key: str) -> None:
        self.url = f"{web.url}/api/v1/apps/{app.pk}/events/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.tally = IngestTally()
        self._lock = threading.Lock()

    def post(self, events: list[dict[str, Any]], *, give_up_after: float = 120) -> None:
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            try:
                response = self.session.post(self.url, json={"events": events}, timeout=30)
            except requests.RequestException:
                with self._lock:
                    self.tally.network_errors += 1
                self.session.close()
                time.sleep(0.3)
                continue
            with self._lock:
                self.tally.statuses[response.status_code] += 1
            if response.status_code == 429:
                retry_after = response.headers.get("Retry-After")
                if retry_after is None:
                    with self._lock:
                        self.tally.throttled_without_retry_after += 1
                time.sleep(float(retry_after or 1))
                continue
            if response.status_code >= 500:
                time.sleep(0.3)
                continue
            assert response.status_code == 202, response.text[:500]
            with self._lock:
                self.tally.outcomes.update(result["status"] for result in response.json()["results"])
            return
        pytest.fail(f"ingest gave up after {give_up_after} s: {self.tally}")

    def post_all(self, events: list[dict[str, Any]], *, batch: int = 100) -> None:
        for start in range(0, len(events), batch):
            self.post(events[start:start + batch])


def events_for(count: int, prefix: str = "e", *, first: int = 0) -> list[dict[str, Any]]:
    """`count` events, each of its own device (numbered from `first`), so the sandbox's record tells every
    event apart by its ifa."""
    now = int(time.time()) - 10
    return [{"event_id": f"{prefix}{n}", "name": "level_complete", "timestamp": now, "platform": "iOS 17.4",
             "identifiers": {"ifa": f"{first + n + 1:032x}"}} for n in range(count)]


@dataclass
class FaultResult:
    scenario: str
    backend: str
    events: int
    injected: str
    lost: int
    requests: int
    repeats: int
    repeats_bound: int
    recover_seconds: float | None
    recover_bound: float | None
    notes: str = ""

    def line(self) -> str:
        recover = "never" if self.recover_seconds is None else f"{self.recover_seconds:.1f} s"
        return (f"[{self.backend}] {self.scenario}: {self.events} events, {self.injected}; lost {self.lost}, "
                f"{self.requests} requests, {self.repeats} repeats (bound {self.repeats_bound}), "
                f"empty {recover} after the fault ended{'; ' + self.notes if self.notes else ''}")


# Every scenario's result in this run, for the summary at its end (tests/faults/conftest.py).
RESULTS: list[FaultResult] = []


def report(result: FaultResult) -> None:
    """Keep one line for the summary, and add it to FAULTS_REPORT (JSON lines) when set, for docs/reliability.md."""
    RESULTS.append(result)
    print(f"\n{result.line()}")
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(asdict(result)) + "\n")


def taken(received: Received) -> bool:
    """Chartboost took this request: HTTP 200 and status 200, whether or not the sender waited for the answer."""
    return (received.body is not None and received.reply.http_status == 200
            and received.reply.body == b'{"status": 200, "message": "Success"}')


class Run:
    """One scenario's app, sandbox and API key; `finish` waits for the backlog and checks what arrived."""

    def __init__(self, sandbox: ChartboostSandbox, events: int, *, delivery_enabled: bool = True) -> None:
        self.sandbox = sandbox
        self.app = AppFactory(delivery_enabled=delivery_enabled)
        mapping_create(app=self.app, event_name="level_complete", event_field=5)
        self.api_key = api_key_create(organization=self.app.organization, name="faults",
                                      scope=ApiKey.Scope.INGEST)[1]
        self.events = events

    def arrived(self) -> int:
        """Requests for this app that reached the sandbox so far."""
        app_id = self.app.chartboost_app_id
        return sum(1 for received in list(self.sandbox.received) if received.header("X-Chartboost-App") == app_id)

    def wait_arrived(self, count: int, *, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.arrived() < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def delivery_enable(self) -> None:
        """Let the backlog go: the dispatcher sends what is due once delivery is on."""
        self.app.delivery_enabled = True
        _db_retry(lambda: self.app.save(update_fields=["delivery_enabled"]))

    def backlog(self) -> int:
        return _db_retry(lambda: Delivery.objects.filter(app=self.app).exclude(status="delivered").count())

    def wait_drained(self, *, timeout: float = SIZES.drain_timeout) -> float | None:
        """Wait until every delivery of the app is delivered; return when (monotonic), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            close_old_connections()
            if self.backlog() == 0 and _db_retry(lambda: Delivery.objects.filter(app=self.app).count()) == self.events:
                return time.monotonic()
            time.sleep(0.2)
        return None

    def finish(self, *, scenario: str, injected: str, fault_ended: float, repeats_bound: int,
               recover_bound: float | None = RECOVERY_BOUND_SECONDS, notes: str = "") -> FaultResult:
        drained_at = self.wait_drained()
        mine = [received for received in list(self.sandbox.received)
                if received.header("X-Chartboost-App") == self.app.chartboost_app_id and received.body is not None]
        took = Counter(received.body["identifiers"]["ifa"] for received in mine if taken(received))
        stored = _db_retry(lambda: TrackedEvent.objects.filter(app=self.app).count())
        result = FaultResult(
            scenario=scenario, backend=backend(), events=self.events, injected=injected,
            lost=self.events - len(took), requests=len(mine), repeats=sum(took.values()) - len(took),
            repeats_bound=repeats_bound,
            recover_seconds=None if drained_at is None else max(0.0, drained_at - fault_ended),
            recover_bound=recover_bound, notes=notes)
        report(result)
        assert stored == self.events, f"{stored} events stored, {self.events} sent"
        assert drained_at is not None, f"backlog of {self.backlog()} never drained"
        assert result.lost == 0
        assert result.repeats <= repeats_bound
        if recover_bound is not None:
            assert result.recover_seconds is not None and result.recover_seconds <= recover_bound
        return result


def workers_ready(*, timeout: float = 60) -> None:
    """Wait until a qcluster runs the dispatcher loop (its lease renewed just now), so the clock starts
    with workers that are up, however slowly a loaded machine starts them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = _db_retry(lambda: WorkerLease.objects.filter(name=LEASE_NAME, held_until__gt=timezone.now()).exists())
        if held:
            return
        time.sleep(0.2)
    pytest.fail(f"no qcluster ran the dispatcher within {timeout} s")


def qcluster_env(sandbox_url: str, **env: str) -> dict[str, str]:
    return {**shared_secrets(), "CHARTBOOST_ENDPOINT": sandbox_url, "CHARTBOOST_READ_TIMEOUT": str(SIZES.read_timeout),
            "CHARTBOOST_CONNECT_TIMEOUT": "2", "Q_WORKERS": "2", **env}


@contextmanager
def stage(
    tmp_path: Path, *, events: int, sandbox_host: str = "127.0.0.1", web_env: dict[str, str] | None = None,
    start_workers: bool = True, delivery_enabled: bool = True, **sandbox_options: Any,
) -> Iterator[tuple[Run, Web, QCluster]]:
    """The sandbox (pointed at by CHARTBOOST_ENDPOINT), a gunicorn and one qcluster, stopped at the end."""
    sandbox_options.setdefault("latency_ms", SANDBOX_LATENCY_MS)
    # One line per request is the sandbox's log at INFO; thousands of them hide the results.
    logging.getLogger("delivery.sandbox").setLevel(logging.WARNING)
    with ChartboostSandbox(sandbox_host, 0, **sandbox_options) as sandbox:
        settings.CHARTBOOST_ENDPOINT = sandbox.url
        run = Run(sandbox, events, delivery_enabled=delivery_enabled)
        web = Web(tmp_path / "web.log", **(web_env or {}))
        workers = QCluster(tmp_path / "qcluster.log", **qcluster_env(sandbox.url))
        try:
            web.start()
            if start_workers:
                workers.start()
                workers_ready()
            yield run, web, workers
        finally:
            workers.stop()
            web.stop()
