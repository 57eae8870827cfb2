"""`Idempotency-Key` on POSTs under /api/v1/ (trackerui/accounts/idempotency.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.models import TrackedEvent
from mappings.models import App, Mapping
from tests.api_helpers import api_client_for
from tests.factories import EventPayloadFactory
from trackerui.accounts.idempotency import idempotency_key_claim, idempotent_requests_prune, request_fingerprint
from trackerui.accounts.models import ApiKey, IdempotentRequest, Organization

MAPPING = {"event_name": "level_up", "event_field": 1, "main_level_property": "level"}


@pytest.fixture(autouse=True)
def empty_throttle_counters(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def post(client: APIClient | Client, path: str, body: Any, key: str | None = "retry-1") -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def mappings_path(app: App) -> str:
    return f"/api/v1/apps/{app.pk}/mappings/"


def test_the_same_key_and_body_replay_the_first_answer_and_create_nothing_more(api: APIClient, app: App) -> None:
    first = post(api, mappings_path(app), MAPPING)
    again = post(api, mappings_path(app), MAPPING)

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/json"
    assert Mapping.objects.count() == 1


def test_an_error_answer_is_replayed_too(api: APIClient, app: App) -> None:
    first = post(api, mappings_path(app), {**MAPPING, "event_field": 9})
    again = post(api, mappings_path(app), {**MAPPING, "event_field": 9})
    assert first.status_code == 400
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (400, first.json(), "true")


def test_the_same_key_with_another_body_is_422(api: APIClient, app: App) -> None:
    post(api, mappings_path(app), MAPPING)
    response = post(api, mappings_path(app), {**MAPPING, "event_name": "level_done"})

    assert response.status_code == 422
    assert "another request" in response.json()["detail"]
    assert Mapping.objects.count() == 1


def test_the_same_key_on_another_path_is_422(api: APIClient, app: App) -> None:
    post(api, mappings_path(app), MAPPING)
    assert post(api, f"/api/v1/apps/{app.pk}/recover/", MAPPING).status_code == 422


def fingerprint_of(path: str, body: Any) -> str:
    """The fingerprint the middleware takes of such a POST."""
    return request_fingerprint(RequestFactory().post(path, data=json.dumps(body), content_type="application/json"))


def owner_of_the_only_key() -> str:
    return f"key:{ApiKey.objects.get().prefix}"


def test_while_the_first_request_is_still_running_the_same_key_is_409(api: APIClient, app: App) -> None:
    # The first request has claimed the key and not answered yet: its row, as the middleware inserts it.
    answer, claim = idempotency_key_claim(owner=owner_of_the_only_key(), key="slow-1",
                                          fingerprint=fingerprint_of(mappings_path(app), MAPPING))
    assert answer is None and claim is not None

    response = post(api, mappings_path(app), MAPPING, key="slow-1")

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert Mapping.objects.count() == 0


def test_a_claim_abandoned_by_a_dead_process_may_be_claimed_again(api: APIClient, app: App) -> None:
    long_ago = timezone.now() - timedelta(minutes=30)
    IdempotentRequest.objects.create(owner=owner_of_the_only_key(), key="dead-1", created_at=long_ago,
                                     fingerprint=fingerprint_of(mappings_path(app), {}))

    response = post(api, mappings_path(app), {**MAPPING, "event_field": 3, "main_level_property": "stars"},
                    key="dead-1")

    assert response.status_code == 201


def test_keys_are_kept_per_api_key(api: APIClient, app: App, organization: Organization) -> None:
    post(api, mappings_path(app), MAPPING, key="shared")
    other = api_client_for(organization)
    response = post(other, mappings_path(app), {**MAPPING, "event_field": 3, "main_level_property": "stars"},
                    key="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_a_signed_in_user_has_keys_too(signed_in_client: Client, app: App) -> None:
    first = post(signed_in_client, mappings_path(app), MAPPING)
    again = post(signed_in_client, mappings_path(app), MAPPING)
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert IdempotentRequest.objects.get().owner.startswith("user:")


def test_a_throttled_answer_is_not_kept_so_the_key_may_be_sent_again(api: APIClient, app: App) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api": "1/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        api.get(mappings_path(app))
        throttled = post(api, mappings_path(app), MAPPING)
    assert throttled.status_code == 429
    assert not IdempotentRequest.objects.exists()
    cache.clear()
    assert post(api, mappings_path(app), MAPPING).status_code == 201


def test_without_the_header_nothing_is_kept(api: APIClient, app: App) -> None:
    assert post(api, mappings_path(app), MAPPING, key=None).status_code == 201
    assert not IdempotentRequest.objects.exists()


def test_a_key_longer_than_255_characters_is_400(api: APIClient, app: App) -> None:
    assert post(api, mappings_path(app), MAPPING, key="k" * 256).status_code == 400
    assert Mapping.objects.count() == 0


def test_ingestion_takes_no_idempotency_key_its_events_have_their_own_ids(ingest_api: APIClient, app: App) -> None:
    path = f"/api/v1/apps/{app.pk}/events/"
    first = post(ingest_api, path, EventPayloadFactory(event_id="e-1"))
    second = post(ingest_api, path, EventPayloadFactory(event_id="e-2"))
    assert (first.status_code, second.status_code) == (202, 202)
    assert TrackedEvent.objects.count() == 2
    assert not IdempotentRequest.objects.exists()


def test_without_valid_credentials_the_view_answers_and_nothing_is_kept(app: App) -> None:
    response = post(APIClient(), mappings_path(app), MAPPING)
    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()


def test_keys_are_pruned_after_24_hours(db: None) -> None:
    now = timezone.now()
    for key, hours in (("old", 25), ("new", 23)):
        IdempotentRequest.objects.create(owner="key:cbt_1", key=key, fingerprint="f",
                                         created_at=now - timedelta(hours=hours))
    assert idempotent_requests_prune(now) == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_a_form_encoded_body_from_a_signed_in_browser_is_read_once_and_answered(signed_in_client: Client,
                                                                                app: App) -> None:
    response = signed_in_client.post(mappings_path(app), MAPPING, HTTP_IDEMPOTENCY_KEY="form-1")
    # The API reads JSON only: a form body is a 415, kept and replayed like any answer.
    again = signed_in_client.post(mappings_path(app), MAPPING, HTTP_IDEMPOTENCY_KEY="form-1")
    assert response.status_code == 415
    assert (again.status_code, again["Idempotent-Replayed"]) == (415, "true")
