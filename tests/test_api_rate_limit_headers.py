"""RateLimit-Policy and RateLimit (IETF draft 11) on API answers (trackerui/foundation/rate_limit_headers.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from mappings.models import App
from tests.api_helpers import api_client_for
from trackerui.accounts.models import ApiKey, Organization

# 42 seconds before the end of a one-minute window.
AT = datetime(2026, 12, 1, 12, 0, 18, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_throttle_counters(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def rates(api: str = "1200/min", ingest: str = "600/second") -> override_settings:
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": api, "ingest": ingest}}
    )


def test_every_api_answer_says_its_policy_and_what_is_left_of_it(organization: Organization) -> None:
    api = api_client_for(organization)
    with time_machine.travel(AT, tick=False):
        first = api.get("/api/v1/apps/")
        second = api.get("/api/v1/apps/")

    assert first["RateLimit-Policy"] == '"api";q=1200;w=60'
    assert first["RateLimit"] == '"api";r=1199;t=42'
    assert second["RateLimit"] == '"api";r=1198;t=42'


def test_a_429_carries_retry_after_and_nothing_left(organization: Organization) -> None:
    api = api_client_for(organization)
    with rates(api="2/min"), time_machine.travel(AT, tick=False):
        answers = [api.get("/api/v1/apps/") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == "42"
    assert answers[2]["RateLimit"] == '"api";r=0;t=42'
    assert answers[2]["RateLimit-Policy"] == '"api";q=2;w=60'


def test_an_error_answer_that_counted_carries_them_too(organization: Organization) -> None:
    response = api_client_for(organization).get("/api/v1/apps/999999/")
    assert response.status_code == 404
    assert response["RateLimit"].startswith('"api";r=1199;t=')


def test_ingestion_counts_against_its_own_policy(organization: Organization, app: App) -> None:
    api = api_client_for(organization, scope=ApiKey.Scope.INGEST)
    with time_machine.travel(AT, tick=False):
        response = api.post(f"/api/v1/apps/{app.pk}/events/", data=json.dumps({"events": []}),
                            content_type="application/json")
    assert response["RateLimit-Policy"] == '"ingest";q=600;w=1'
    assert response["RateLimit"] == '"ingest";r=599;t=1'


def test_pages_and_refused_credentials_count_against_nothing_and_carry_no_headers(db: None) -> None:
    assert "RateLimit" not in Client().get("/accounts/login/")
    refused = Client().get("/api/v1/apps/", HTTP_AUTHORIZATION="Bearer cbt_nope")
    assert refused.status_code == 401
    assert "RateLimit" not in refused
