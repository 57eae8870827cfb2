"""/metrics is exact with two web processes and two workers: a scripted run, scraped through gunicorn.

gunicorn (`--workers 2`, DEBUG=false behind a simulated TLS proxy) takes a scripted set of
events through the HTTP ingest API, several calls at once so both web processes take some;
two real `qcluster` processes send them to a local Chartboost sandbox, which answers one app's
requests with success, fails another's first try of each request with a 500 (retried 2 s
later, then delivered), and refuses a third's with status 400. Once everything is drained,
every counter must be exactly what the script implies: the counters live in the database,
written in the transaction of what they count, so no process's share is lost or counted twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from pytest_django import Settings

from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox, Reply
from mappings.models import App
from tests.factories import AppFactory, EventPayloadFactory, MappingFactory, OrganizationFactory
from tests.live_receiver import QCluster, free_port, sandbox_as_chartboost, shared_database_url, wait_until
from tests.test_gunicorn import PROXY_ELSEWHERE, _stop, _wait_for_port
from trackerui.accounts.models import ApiKey
from trackerui.accounts.services import api_key_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HTTPS = {"X-Forwarded-Proto": "https"}
DRAIN_SECONDS = 60
MAX_REPEATS = 50


def _device(n: int) -> dict[str, str]:
    return {"ifa": f"{n:032x}"}


def _env(port: int) -> dict[str, str]:
    """What gunicorn and the workers share: the test database, the sandbox, one encryption key."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "metrics-test-secret-key-long-and-random-enough-Zr8pQ2mW5tLx9cVb3nKd",
        "TOKEN_ENCRYPTION_KEY": ",".join(django_settings.TOKEN_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRUST_X_FORWARDED_PROTO": "true",
        "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
        "DATABASE_URL": shared_database_url(),
        "CHARTBOOST_ENDPOINT": django_settings.CHARTBOOST_ENDPOINT,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def sandbox(settings: Settings) -> Iterator[ChartboostSandbox]:
    with sandbox_as_chartboost(settings) as server:
        yield server


@dataclass(frozen=True)
class Web:
    url: str
    log: Path

    def pids_that_ingested(self) -> set[str]:
        """The gunicorn worker processes that answered an ingest call (from the access log)."""
        return {line.split()[1] for line in self.log.read_text(errors="replace").splitlines()
                if line.startswith("access ") and "/events/" in line}


@pytest.fixture
def two_web_processes(sandbox: ChartboostSandbox, tmp_path: Path) -> Iterator[Web]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "trackerui.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--forwarded-allow-ips", PROXY_ELSEWHERE, "--access-logfile", "-",
               "--access-logformat", "access %(p)s %(r)s %(s)s"]
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=django_settings.BASE_DIR, env=_env(port), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, process, log, timeout=20)
        yield Web(f"http://127.0.0.1:{port}", log)
    finally:
        _stop(process)


@pytest.fixture
def two_workers(sandbox: ChartboostSandbox, tmp_path: Path) -> Iterator[list[QCluster]]:
    env = {name: value for name, value in _env(0).items() if name not in os.environ or os.environ[name] != value}
    clusters = [QCluster(tmp_path / f"qcluster-{n}.log", **env).start() for n in (1, 2)]
    try:
        yield clusters
    finally:
        for cluster in clusters:
            cluster.stop()


def _apps(sandbox: ChartboostSandbox) -> tuple[App, App, App]:
    organization = OrganizationFactory()
    good, flaky, refused = (AppFactory(organization=organization, name=name) for name in ("Good", "Flaky", "Refused"))
    # Two fields from one event: each of its requests carries two deliveries, so two attempts.
    for field in (1, 4):
        MappingFactory(app=good, event_name="level_up", event_field=field, main_level_property="level")
    MappingFactory(app=flaky, event_name="level_up", event_field=5, main_level_property="")
    MappingFactory(app=refused, event_name="level_up", event_field=2, main_level_property="")
    sandbox.fail_first_tries(flaky.chartboost_app_id)
    sandbox.outage(refused.chartboost_app_id, 3600, Reply.status(400, "Bad request (sandbox)"))
    return good, flaky, refused


def _script(good: App, flaky: App, refused: App) -> list[tuple[App, list[dict]]]:
    """(app, events) per ingest call: 7 accepted, 2 duplicate, 1 unmapped, 2 rejected."""
    return [
        (good, [EventPayloadFactory(event_id="g1", identifiers=_device(1), properties={"level": 1}),
                EventPayloadFactory(event_id="g2", identifiers=_device(2), properties={"level": 2}),
                EventPayloadFactory(event_id="g3", name="shop_opened", identifiers=_device(3)),
                EventPayloadFactory(event_id="g4", identifiers=_device(4), properties={}),
                EventPayloadFactory(event_id="g5", identifiers=_device(5), platform=" ")]),
        # The same two again: however the calls interleave, one of each pair is a duplicate.
        (good, [EventPayloadFactory(event_id="g1", identifiers=_device(1), properties={"level": 1}),
                EventPayloadFactory(event_id="g2", identifiers=_device(2), properties={"level": 2})]),
        (flaky, [EventPayloadFactory(event_id=f"f{n}", identifiers=_device(10 + n)) for n in (1, 2)]),
        (flaky, [EventPayloadFactory(event_id="f3", identifiers=_device(13))]),
        (refused, [EventPayloadFactory(event_id=f"r{n}", identifiers=_device(20 + n)) for n in (1, 2)]),
    ]


def _ingest(url: str, key: str, app: App, events: list[dict]) -> int:
    response = requests.post(f"{url}/api/v1/apps/{app.pk}/events/", data=json.dumps({"events": events}),
                             headers={**HTTPS, "Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                             timeout=30)
    return response.status_code


def _figures(url: str) -> dict[str, float]:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    values = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def _drained() -> bool:
    return not Delivery.objects.filter(status__in=Delivery.SENDABLE).exists() and Delivery.objects.count() == 9


def test_the_counters_match_a_scripted_run_exactly_with_two_web_processes_and_two_workers(
    sandbox: ChartboostSandbox, two_web_processes: Web, two_workers: list[QCluster]
) -> None:
    web = two_web_processes.url
    good, flaky, refused = _apps(sandbox)
    _, key = api_key_create(organization=good.organization, name="game backend", scope=ApiKey.Scope.INGEST)

    calls = _script(good, flaky, refused)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = list(pool.map(lambda call: _ingest(web, key, *call), calls))
    assert statuses == [202] * len(calls)
    # Both web processes must take ingest calls; which one accepts a connection is the kernel's choice,
    # so until both have, the repeated batch goes again: each time, two more duplicates, counted below.
    repeats = 0
    while len(two_web_processes.pids_that_ingested()) < 2 and repeats < MAX_REPEATS:
        assert _ingest(web, key, *calls[1]) == 202
        repeats += 1
    assert len(two_web_processes.pids_that_ingested()) == 2, two_web_processes.log.read_text()
    drained = wait_until(_drained, timeout=DRAIN_SECONDS, interval=0.5)
    assert drained, "\n".join(cluster.log()[-2000:] for cluster in two_workers)
    seen = _figures(web)

    def counts(name: str, label: str, values: tuple[str, ...]) -> dict[str, float]:
        return {value: seen.get(f'{name}{{{label}="{value}"}}', 0) for value in values}

    counters = {name: value for name, value in seen.items() if "total" in name or "_count" in name}
    print(f"\nafter the scripted run ({repeats} repeats of the duplicate batch): {json.dumps(counters)}")
    assert counts("cbtracker_ingested_events_total", "result", ("accepted", "duplicate", "unmapped", "rejected")) == {
        "accepted": 7, "duplicate": 2 + 2 * repeats, "unmapped": 1, "rejected": 2}
    # The good app: 2 requests of 2 deliveries each; the flaky one: 3 requests failed once, then
    # delivered; the refused one: 2 requests failed at once.
    assert counts("cbtracker_requests_total", "outcome", ("delivered", "retry", "failed")) == {
        "delivered": 5, "retry": 3, "failed": 2}
    assert counts("cbtracker_attempts_total", "outcome", ("delivered", "retry", "failed")) == {
        "delivered": 7, "retry": 3, "failed": 2}
    assert seen["cbtracker_attempt_duration_seconds_count"] == 10
    assert seen['cbtracker_attempt_duration_seconds_bucket{le="+Inf"}'] == 10
    assert seen["cbtracker_backlog_deliveries"] == 0
    # What Chartboost saw agrees: 10 requests, the flaky app's three each twice.
    assert len(sandbox.received) == 10
    statuses_by_app = {app.name: sorted(Delivery.objects.filter(app=app).values_list("status", flat=True))
                       for app in (good, flaky, refused)}
    assert statuses_by_app == {"Good": ["delivered"] * 4, "Flaky": ["delivered"] * 3, "Refused": ["failed"] * 2}
