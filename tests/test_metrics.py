"""/metrics and /healthz (delivery/metrics.py, delivery/ops_views.py): exact counters, a health that says why."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from delivery.ingest.service import events_ingest
from delivery.models import AppSendingState, WorkerLease
from delivery.outbox import dispatcher
from delivery.sandbox import ChartboostSandbox, Reply
from mappings.models import App
from tests.factories import AppFactory, EventPayloadFactory, MappingFactory
from tests.live_receiver import events_ingest_kicked, run_queued_sends


@pytest.fixture
def app(db: None) -> App:
    return AppFactory()


def figures(client: Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_ingestion_counts_each_event_by_what_became_of_it(app: App, client: Client) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    events_ingest(app=app, events=[
        EventPayloadFactory(event_id="a"), EventPayloadFactory(event_id="b", properties={"level": 4}),
        EventPayloadFactory(event_id="a"), EventPayloadFactory(event_id="c", name="opened_shop"),
        EventPayloadFactory(event_id="d", timestamp=-1), EventPayloadFactory(event_id="e", properties={}),
    ])

    seen = figures(client)
    assert [seen[f'cbtracker_ingested_events_total{{result="{result}"}}']
            for result in ("accepted", "duplicate", "unmapped", "rejected")] == [2, 1, 1, 2]


def test_a_request_carrying_three_deliveries_counts_one_request_and_three_attempts(
    chartboost_sandbox: ChartboostSandbox, app: App, client: Client
) -> None:
    for field in (1, 3, 4):
        MappingFactory(app=app, event_name="level_up", event_field=field, main_level_property="level")
    events_ingest_kicked(app=app, events=[EventPayloadFactory(event_id="one")])
    chartboost_sandbox.script(Reply.status(500))
    events_ingest_kicked(app=app, events=[EventPayloadFactory(event_id="two", identifiers={"ifa": "a" * 32})])
    chartboost_sandbox.script(Reply.success().after(0.3))

    assert run_queued_sends() == 2

    seen = figures(client)
    requests = {outcome: seen[f'cbtracker_requests_total{{outcome="{outcome}"}}'] for outcome in ("delivered", "retry")}
    attempts = {outcome: seen[f'cbtracker_attempts_total{{outcome="{outcome}"}}'] for outcome in ("delivered", "retry")}
    assert (requests, attempts) == ({"delivered": 1, "retry": 1}, {"delivered": 3, "retry": 3})
    assert seen['cbtracker_attempts_total{outcome="failed"}'] == 0
    assert seen["cbtracker_attempt_duration_seconds_count"] == 2
    assert seen['cbtracker_attempt_duration_seconds_bucket{le="+Inf"}'] == 2
    # One answered at once, one after 0.3 s: the buckets are cumulative.
    assert seen['cbtracker_attempt_duration_seconds_bucket{le="0.1"}'] == 1
    assert seen['cbtracker_attempt_duration_seconds_bucket{le="0.5"}'] == 2
    assert seen["cbtracker_attempt_duration_seconds_sum"] >= 0.3
    assert seen["cbtracker_backlog_deliveries"] == 3, "the three retrying deliveries wait"


def test_metrics_want_the_token_when_one_is_set(settings: Settings, client: Client, db: None) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200


def worker_reported(seconds_ago: float) -> None:
    WorkerLease.objects.update_or_create(
        name=dispatcher.LEASE_NAME,
        defaults={"holder": "loop", "held_until": timezone.now() + timedelta(seconds=5),
                  "renewed_at": timezone.now() - timedelta(seconds=seconds_ago)},
    )


def test_health_is_ok_while_a_worker_reports_and_says_each_checks_figures(client: Client, db: None) -> None:
    worker_reported(seconds_ago=2)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "backlog"}
    assert 1.5 < body["checks"]["worker"]["seconds_since_seen"] < 10
    assert body["checks"]["broker"]["kind"]


def test_with_a_metrics_token_the_public_health_says_only_pass_or_fail(
    settings: Settings, client: Client, db: None
) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    worker_reported(seconds_ago=2)

    public = client.get("/healthz")
    wrong = client.get("/healthz", HTTP_AUTHORIZATION="Bearer wrong")
    scraper = client.get("/healthz", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")

    assert public.status_code == wrong.status_code == 200
    expected = {"status": "ok", "checks": {name: {"ok": True} for name in ("database", "broker", "worker", "backlog")}}
    assert public.json() == wrong.json() == expected
    assert scraper.json()["checks"]["broker"]["kind"]
    assert scraper.json()["checks"]["backlog"]["waiting"] == 0


def test_with_a_metrics_token_the_public_health_still_says_down(settings: Settings, client: Client, db: None) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    worker_reported(seconds_ago=600)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["worker"] == {"ok": False}


def test_health_is_down_once_no_worker_has_reported_for_the_stale_time(
    settings: Settings, client: Client, db: None
) -> None:
    settings.WORKER_STALE_SECONDS = 60
    worker_reported(seconds_ago=61)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["worker"]["ok"] is False


def test_a_backlog_and_open_circuits_are_figures_that_never_make_it_down(
    chartboost_sandbox: ChartboostSandbox, app: App, client: Client
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=5, main_level_property="")
    paused = AppFactory(delivery_enabled=False)
    MappingFactory(app=paused, event_name="level_up", event_field=5, main_level_property="")
    events_ingest(app=app, events=[EventPayloadFactory(event_id=f"x{n}") for n in range(3)])
    events_ingest(app=paused, events=[EventPayloadFactory(event_id="p")])
    AppSendingState.objects.filter(app=app).update(circuit="open", next_probe_at=timezone.now() + timedelta(minutes=5))
    worker_reported(seconds_ago=1)

    response = client.get("/healthz")

    assert response.status_code == 200
    backlog = response.json()["checks"]["backlog"]
    assert (backlog["waiting"], backlog["paused_apps"], backlog["paused_waiting"], backlog["open_circuits"],
            backlog["open_circuit_waiting"]) == (4, 1, 1, 1, 3)
    assert figures(client)["cbtracker_circuit_open_apps"] == 1


def test_the_metrics_page_is_valid_prometheus_text(client: Client, db: None) -> None:
    text = client.get("/metrics").content.decode()
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.]+$')
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or sample.match(line), line
