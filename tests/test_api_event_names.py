"""The tracked-events catalogue in the API: GET /api/v1/apps/{app_id}/event-names/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client
from rest_framework.test import APIClient

from delivery.selectors import unmapped_event_names
from mappings.models import App
from tests.factories import EventNameFactory, MappingFactory
from trackerui.accounts.authentication import INGEST_SCOPE_MESSAGE

MARCH_10 = datetime(2025, 3, 10, 12, tzinfo=UTC)


def url(app: App) -> str:
    return f"/api/v1/apps/{app.pk}/event-names/"


def test_it_lists_every_event_name_most_recent_first_with_its_mapped_event_ids(api: APIClient, app: App) -> None:
    EventNameFactory(app=app, name="level_up", count=42, example_properties={"level": 7},
                     first_seen_at=MARCH_10 - timedelta(days=3), last_seen_at=MARCH_10)
    EventNameFactory(app=app, name="shop_opened", count=3, first_seen_at=MARCH_10 - timedelta(days=1),
                     last_seen_at=MARCH_10 - timedelta(hours=1))
    MappingFactory(app=app, event_name="level_up", event_field=3)
    MappingFactory(app=app, event_name="level_up", event_field=1, active=False)
    MappingFactory(app=app, event_name="never_sent", event_field=2, main_level_property="")

    response = api.get(url(app))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"] == [
        {"name": "level_up", "first_seen_at": "2025-03-07T12:00:00Z", "last_seen_at": "2025-03-10T12:00:00Z",
         "count": 42, "example_properties": {"level": 7}, "mapped_event_fields": [1, 3]},
        {"name": "shop_opened", "first_seen_at": "2025-03-09T12:00:00Z", "last_seen_at": "2025-03-10T11:00:00Z",
         "count": 3, "example_properties": {}, "mapped_event_fields": []},
    ]


def test_it_agrees_with_the_app_pages_unmapped_events(api: APIClient, app: App) -> None:
    for name in ("level_up", "shop_opened", "boss_defeated"):
        EventNameFactory(app=app, name=name)
    MappingFactory(app=app, event_name="level_up", event_field=1, active=False)

    rows = api.get(url(app)).json()["results"]

    assert {row["name"] for row in rows if not row["mapped_event_fields"]} == {
        event_name.name for event_name in unmapped_event_names(app)
    } == {"shop_opened", "boss_defeated"}


def test_it_is_paginated(api: APIClient, app: App) -> None:
    for minute in range(3):
        EventNameFactory(app=app, last_seen_at=MARCH_10 + timedelta(minutes=minute))

    body = api.get(url(app), {"page_size": 2}).json()

    assert body["count"] == 3 and len(body["results"]) == 2 and "page=2" in body["next"]


def test_another_apps_event_names_are_not_listed(api: APIClient, app: App, other_app: App) -> None:
    EventNameFactory(app=other_app, name="theirs")
    assert api.get(url(app)).json()["results"] == []


def test_another_organizations_app_is_a_404(api: APIClient, other_app: App) -> None:
    assert api.get(url(other_app)).status_code == 404


def test_a_member_may_read_it_and_an_ingest_key_may_not(
    member_api: APIClient, ingest_api: APIClient, app: App
) -> None:
    EventNameFactory(app=app)
    assert member_api.get(url(app)).status_code == 200
    refused = ingest_api.get(url(app))
    assert refused.status_code == 403 and refused.json() == {"detail": INGEST_SCOPE_MESSAGE}


def test_the_schema_documents_it(client: Client, db: None) -> None:
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/apps/{app_id}/event-names/"]["get"]
    fields = schema["components"]["schemas"]["EventNameOutput"]["properties"]

    assert operation["operationId"] == "apps_event_names"
    assert set(fields) == {"name", "first_seen_at", "last_seen_at", "count", "example_properties",
                           "mapped_event_fields"}
