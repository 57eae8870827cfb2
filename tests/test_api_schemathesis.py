"""Schemathesis against the live API: generated requests never cause a 5xx, and every answer
matches the published schema (status code, content type, headers and body).

What it covers: every operation in /api/schema/ except DELETE (ingestion included), through
schemathesis' examples, coverage and fuzzing phases, with valid and invalid data, acting
as an organization's API key. The path ids are fixed to real objects of that
organization, so requests reach the views' logic (validation, services, selectors)
instead of stopping at a 404: `app_id` is an app with mappings and deliveries in every
status, and `id` is both its mapping and its failed delivery (created with the same
primary key). DELETE is left out because deleting the fixture would turn the rest of the
run into 404s; tests/test_api_apps.py and tests/test_api_mappings.py cover it.
Retry answers 202 until something (recover, or retry itself) has restarted the delivery,
then 409; both are checked against the schema. The test event goes to a local Chartboost
sandbox, its per-app limit raised so the run is not about it (tests/test_api_test_event.py is).

It runs twice, with DEBUG on and off: every answer under /api/ must be JSON matching the
schema either way (Django's DEBUG pages are HTML). With DEBUG off, as in production, all
three phases run; the coverage phase's systematic cases (about 900 requests, most of the
time) are not repeated with DEBUG on, whose run is the examples and random fuzzing (valid
and invalid data) with more examples per operation. DEBUG changes only how errors are
answered, and tests/test_api_errors.py checks each kind of error with DEBUG on by hand.
Each run is bounded by `--max-examples` and a timeout; both together take about 1.3 to 1.4 times
as long as the one run did before (on this shared 2-core machine: 76 s with DEBUG off and 21 s
on; 107 s and 40 s when busier).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox
from tests.factories import AppFactory, AttemptFactory, DeliveryFactory, MappingFactory, OrganizationFactory
from trackerui.accounts.services import api_key_create

SHARED_ID = 1000
# A bound for a loaded machine, not the expected time (about a minute for the DEBUG-off run on an idle one).
TIME_LIMIT_SECONDS = 180


@dataclass(frozen=True)
class Run:
    phases: str
    max_examples: int
    # Fewer generated requests than this would mean the run never really reached the API.
    min_cases: int


RUNS = {
    "DEBUG off": Run(phases="examples,coverage,fuzzing", max_examples=5, min_cases=600),
    "DEBUG on": Run(phases="examples,fuzzing", max_examples=10, min_cases=120),
}
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


def _config(*, app_id: int, object_id: int) -> str:
    # Fixed path ids for every operation: `app_id` is the fixture app; `id` is both its
    # mapping and its failed delivery, which are created with the same primary key.
    # No crash cache: it would be written into the project (`.schemathesis/`) and replayed next time.
    return f'[cache]\nenabled = false\n\n[parameters]\n"path.app_id" = {app_id}\n"path.id" = {object_id}\n'


@pytest.mark.slow
@pytest.mark.parametrize("debug", ["DEBUG on", "DEBUG off"])
def test_generated_requests_get_no_5xx_and_answers_match_the_schema(
    live_server: LiveServer, settings: Settings, tmp_path: Path, chartboost_sandbox: ChartboostSandbox, debug: str
) -> None:
    settings.DEBUG = debug == "DEBUG on"
    run = RUNS[debug]
    # The run sends far more requests per minute than a real client; it is not about throttling.
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min", "ingest": "100000/min"},
    }
    settings.TEST_EVENTS_PER_MINUTE = 100000
    organization = OrganizationFactory()
    _, raw_key = api_key_create(organization=organization, name="schemathesis")
    app = AppFactory(organization=organization)
    mapping = MappingFactory(
        id=SHARED_ID, app=app, event_name="level_up", event_field=1, main_level_property="level"
    )
    MappingFactory(app=app, event_name="tutorial_complete", event_field=5, main_level_property="")
    for status in Delivery.Status.values:
        delivery = DeliveryFactory(event__app=app, mapping=mapping, status=status)
        AttemptFactory(delivery=delivery, number=1)
    DeliveryFactory(
        id=SHARED_ID, event__app=app, mapping=mapping, status=Delivery.Status.FAILED, attempt_count=1,
        first_attempt_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    AttemptFactory(delivery_id=SHARED_ID, number=1)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(app_id=app.id, object_id=SHARED_ID))

    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run",
            f"{live_server.url}/api/schema/?format=json",
            "--url", live_server.url,
            "--header", f"Authorization: Bearer {raw_key}",
            "--checks", ",".join(CHECKS),
            "--phases", run.phases,
            "--max-examples", str(run.max_examples),
            "--workers", "1", "--exclude-method", "DELETE",
            "--seed", "20250301",
            "--request-timeout", "20",
        ],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_SECONDS,
    )

    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", result.stdout).groups())
    # A run that reached the API only a few times would prove nothing.
    assert generated == passed >= run.min_cases, result.stdout[-3000:]
