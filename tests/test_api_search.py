"""The search across apps in the API: GET /api/v1/deliveries/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from trackerui.accounts.models import Organization
from trackerui.dashboard.services import app_archive

Status = Delivery.Status
IFA = "b1c99c76f014428590cf3a5c99d9dfc6"
SEARCH = "/api/v1/deliveries/"


def _ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def second_app(organization: Organization) -> App:
    return AppFactory(organization=organization, name="Space Miner (Android)")


def test_it_finds_a_device_in_every_app_of_the_organization_newest_first(
    api: APIClient, app: App, second_app: App, other_app: App
) -> None:
    older = DeliveryFactory(event=TrackedEventFactory(app=app, device=IFA), created_at=datetime(2025, 3, 1, tzinfo=UTC))
    newer = DeliveryFactory(event=TrackedEventFactory(app=second_app, device=IFA),
                            created_at=datetime(2025, 3, 2, tzinfo=UTC))
    DeliveryFactory(event=TrackedEventFactory(app=other_app, device=IFA))
    DeliveryFactory(event__app=app)

    response = api.get(SEARCH, {"device": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"})

    assert _ids(response) == [newer.id, older.id]
    assert [row["app_id"] for row in response.json()["results"]] == [second_app.id, app.id]


def test_it_finds_your_event_id_in_every_app(api: APIClient, app: App, second_app: App, other_app: App) -> None:
    mine = [DeliveryFactory(event__app=each, event__event_id="order-42") for each in (app, second_app)]
    DeliveryFactory(event__app=other_app, event__event_id="order-42")

    assert sorted(_ids(api.get(SEARCH, {"event_id": "order-42"}))) == sorted(d.id for d in mine)


def test_it_takes_the_lists_filters_and_an_app(api: APIClient, app: App, second_app: App) -> None:
    failed = DeliveryFactory(event__app=app, event__event_id="order-42", status=Status.FAILED, event_field=3,
                             created_at=datetime(2025, 3, 2, tzinfo=UTC))
    DeliveryFactory(event__app=app, event__event_id="order-43", status=Status.DELIVERED)
    elsewhere = DeliveryFactory(event__app=second_app, event__event_id="order-42", status=Status.FAILED,
                                event_field=3, created_at=datetime(2025, 3, 2, tzinfo=UTC))
    query = {"event_id": "order-42", "status": "failed", "event_field": 3, "since": "2025-03-01T00:00:00Z",
             "until": "2025-03-03T00:00:00Z"}

    assert sorted(_ids(api.get(SEARCH, query))) == sorted([failed.id, elsewhere.id])
    assert _ids(api.get(SEARCH, {**query, "app": second_app.id})) == [elsewhere.id]
    assert _ids(api.get(SEARCH, {**query, "status": "delivered"})) == []


def test_it_is_paginated_like_an_apps_list(api: APIClient, app: App) -> None:
    for _ in range(3):
        DeliveryFactory(event=TrackedEventFactory(app=app, device=IFA))

    body = api.get(SEARCH, {"device": IFA, "page_size": 2}).json()

    assert body["count"] == 3 and len(body["results"]) == 2
    assert "page=2" in body["next"] and body["previous"] is None


@pytest.mark.parametrize("query", [{}, {"status": "failed"}, {"event_id": "  "}])
def test_without_your_event_id_or_a_device_it_is_a_400_naming_event_id(
    api: APIClient, app: App, query: dict[str, str]
) -> None:
    DeliveryFactory(event__app=app)

    response = api.get(SEARCH, query)

    assert response.status_code == 400
    assert response.json() == {"event_id": ["Give your event_id or a device (ifa, gaid or uuid) to search by."]}


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"device": IFA, "until": "2025-03-01T00:00:00Z", "since": "2025-03-01T00:00:00Z"}, "until"),
        ({"device": IFA, "event_field": "9"}, "event_field"),
        ({"device": "a" * 65}, "device"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api: APIClient, query: dict[str, str], name: str) -> None:
    response = api.get(SEARCH, query)

    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_another_organizations_app_is_no_choice(api: APIClient, other_app: App) -> None:
    DeliveryFactory(event=TrackedEventFactory(app=other_app, device=IFA))

    response = api.get(SEARCH, {"device": IFA, "app": other_app.id})

    assert response.status_code == 400
    assert response.json() == {"app": ["No such app in your organization."]}


def test_a_deleted_apps_deliveries_are_not_found(api: APIClient, app: App) -> None:
    DeliveryFactory(event=TrackedEventFactory(app=app, device=IFA), status=Status.DELIVERED)
    app_archive(app=app)

    assert _ids(api.get(SEARCH, {"device": IFA})) == []


def test_the_schema_documents_its_filters(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"][SEARCH]["get"]

    names = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"}
    assert names == {"app", "status", "event_field", "device", "event_id", "since", "until", "page", "page_size"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/PaginatedDeliveryOutputList"}
