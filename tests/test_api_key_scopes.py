"""API key scopes: a `full` key acts as an owner; an `ingest` key may only send events."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox
from mappings.models import App
from tests.factories import DeliveryFactory, EventPayloadFactory, MappingFactory
from trackerui.accounts.authentication import INGEST_SCOPE_MESSAGE
from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.selectors import api_key_for_raw
from trackerui.accounts.services import api_key_create


def test_a_key_has_the_full_scope_unless_chosen_otherwise(organization: Organization) -> None:
    api_key, _ = api_key_create(organization=organization)
    assert api_key.scope == ApiKey.Scope.FULL


def test_an_ingest_key_can_send_events(ingest_api: APIClient, app: App) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    response = ingest_api.post(f"/api/v1/apps/{app.pk}/events/",
                               data=json.dumps(EventPayloadFactory(properties={"level": 4})),
                               content_type="application/json")
    assert response.status_code == 202, response.content
    assert Delivery.objects.filter(app=app).count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/apps/"),
        ("post", "/api/v1/apps/"),
        ("get", "/api/v1/apps/{app}/"),
        ("patch", "/api/v1/apps/{app}/"),
        ("delete", "/api/v1/apps/{app}/"),
        ("get", "/api/v1/apps/{app}/mappings/"),
        ("post", "/api/v1/apps/{app}/mappings/"),
        ("get", "/api/v1/apps/{app}/deliveries/"),
        ("get", "/api/v1/apps/{app}/stats/"),
        ("get", "/api/v1/apps/{app}/changes/"),
        ("post", "/api/v1/apps/{app}/recover/"),
        ("post", "/api/v1/apps/{app}/test-event/"),
        ("get", "/api/v1/deliveries/{delivery}/"),
        ("post", "/api/v1/deliveries/{delivery}/retry/"),
        ("get", "/api/v1/deliveries/"),
        ("get", "/api/v1/apps/{app}/event-names/"),
        ("get", "/apps/{app}/deliveries/export.csv"),
    ],
)
def test_an_ingest_key_gets_a_403_for_everything_but_sending_events(
    ingest_api: APIClient, app: App, method: str, path: str
) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.FAILED)
    response = getattr(ingest_api, method)(path.format(app=app.pk, delivery=delivery.pk), {}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": INGEST_SCOPE_MESSAGE}
    app.refresh_from_db()
    assert app.archived_at is None


def test_a_full_key_can_read_search_export_and_retry_deliveries_and_stats(api: APIClient, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.FAILED)
    for path in (f"/api/v1/apps/{app.pk}/", f"/api/v1/apps/{app.pk}/mappings/", f"/api/v1/apps/{app.pk}/deliveries/",
                 f"/api/v1/apps/{app.pk}/stats/", f"/api/v1/deliveries/{delivery.pk}/",
                 f"/api/v1/deliveries/?device={delivery.device}", f"/api/v1/apps/{app.pk}/event-names/",
                 f"/apps/{app.pk}/deliveries/export.csv"):
        assert api.get(path).status_code == 200, path
    assert api.post(f"/api/v1/deliveries/{delivery.pk}/retry/").status_code == 202


def test_the_api_keys_page_creates_an_ingest_key(signed_in_client: Client, member: User) -> None:
    response = signed_in_client.post("/settings/api-keys/", {"name": "game backend", "scope": "ingest"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Its scope is <strong>ingest</strong>" in html
    raw_key = re.search(r'<code id="raw-key">(cbt_[0-9a-f]{8}_[\w-]+)</code>', html).group(1)
    assert api_key_for_raw(raw_key).scope == ApiKey.Scope.INGEST


def test_the_api_keys_page_offers_both_scopes_with_full_chosen(signed_in_client: Client) -> None:
    response = signed_in_client.get("/settings/api-keys/")
    html = response.content.decode()
    assert re.search(r'value="full"[^>]*checked', html)
    assert 'value="ingest"' in html


def test_the_api_keys_page_shows_each_keys_scope(signed_in_client: Client, organization: Organization) -> None:
    api_key_create(organization=organization, name="game backend", scope=ApiKey.Scope.INGEST)
    assert "ingest: only sends events" in signed_in_client.get("/settings/api-keys/").content.decode()


def test_a_full_key_can_send_a_test_event(chartboost_sandbox: ChartboostSandbox, api: APIClient, app: App) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/test-event/")
    assert response.status_code == 200 and response.json()["delivered"] is True
    assert len(chartboost_sandbox.received) == 1
