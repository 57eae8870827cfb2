"""Deliveries in the API: the filtered list, one delivery with its attempts, retry and recover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework.response import Response
from rest_framework.test import APIClient

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AttemptFactory, DeliveryFactory, TrackedEventFactory

Status = Delivery.Status


def _ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_the_apps_deliveries_newest_first(api: APIClient, app: App, other_app: App) -> None:
    older = DeliveryFactory(event__app=app, created_at=datetime(2025, 3, 1, tzinfo=UTC))
    newer = DeliveryFactory(event__app=app, created_at=datetime(2025, 3, 2, tzinfo=UTC))
    DeliveryFactory(event__app=other_app)

    response = api.get(f"/api/v1/apps/{app.id}/deliveries/")

    assert _ids(response) == [newer.id, older.id]
    row = response.json()["results"][0]
    assert row["event_id"] == newer.event.event_id
    assert row["item"]["data_type"] == "level_info"
    assert "attempts" not in row


def test_it_filters_by_status_and_event_field(api: APIClient, app: App) -> None:
    failed = DeliveryFactory(event__app=app, status=Status.FAILED, event_field=3)
    DeliveryFactory(event__app=app, status=Status.FAILED, event_field=1)
    DeliveryFactory(event__app=app, status=Status.DELIVERED, event_field=3)

    assert _ids(api.get(f"/api/v1/apps/{app.id}/deliveries/?status=failed&event_field=3")) == [failed.id]


def test_it_filters_by_device_as_received_or_normalised(api: APIClient, app: App) -> None:
    event = TrackedEventFactory(app=app, device="ab" * 16)
    mine = DeliveryFactory(event=event)
    DeliveryFactory(event__app=app)
    as_received = "ABABABAB-ABAB-ABAB-ABAB-ABABABABABAB"

    assert _ids(api.get(f"/api/v1/apps/{app.id}/deliveries/", {"device": as_received})) == [mine.id]
    assert _ids(api.get(f"/api/v1/apps/{app.id}/deliveries/", {"device": "ab" * 16})) == [mine.id]


def test_it_filters_by_the_senders_event_id(api: APIClient, app: App) -> None:
    mine = DeliveryFactory(event__app=app, event__event_id="order-42")
    DeliveryFactory(event__app=app)

    assert _ids(api.get(f"/api/v1/apps/{app.id}/deliveries/?event_id=order-42")) == [mine.id]


def test_since_is_inclusive_and_until_exclusive(api: APIClient, app: App) -> None:
    day = {n: DeliveryFactory(event__app=app, created_at=datetime(2025, 3, n, tzinfo=UTC)) for n in (1, 2, 3)}

    response = api.get(f"/api/v1/apps/{app.id}/deliveries/?since=2025-03-02T00:00:00Z&until=2025-03-03T00:00:00Z")

    assert _ids(response) == [day[2].id]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("status=lost", "status"),
        ("event_field=one", "event_field"),
        ("event_field=9", "event_field"),
        ("since=yesterday", "since"),
        ("until=2025-13-01", "until"),
        ("since=0001-01-01T00:00:00%2B05:00", "since"),
        ("since=0h", "since"),
        # The same rule as the dashboard's filter form: an empty range is a mistake, not an empty list.
        ("since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", "until"),
        ("since=2025-03-02T00:00:00Z&until=2025-03-02T00:00:00Z", "until"),
        ("device=" + "a" * 65, "device"),
        ("event_id=" + "e" * 129, "event_id"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_filter(api: APIClient, app: App, query: str, name: str) -> None:
    response = api.get(f"/api/v1/apps/{app.id}/deliveries/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_until_not_after_since_says_so_on_until(api: APIClient, app: App) -> None:
    response = api.get(f"/api/v1/apps/{app.id}/deliveries/?since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z")

    assert response.json() == {"until": ["Until must be after since."]}


def test_the_schema_documents_the_lists_filters(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/apps/{app_id}/deliveries/"]["get"]["parameters"]

    documented = {parameter["name"]: parameter for parameter in parameters if parameter["in"] == "query"}
    assert set(documented) == {"status", "event_field", "device", "event_id", "since", "until", "page", "page_size"}
    assert documented["event_field"]["schema"]["enum"] == [1, 2, 3, 4, 5]
    assert documented["since"]["schema"]["format"] == "date-time"
    assert "Chartboost Event ID (1–5)" in documented["event_field"]["description"]
    assert documented["event_id"]["description"].startswith("The event_id your game sent")


def test_another_organizations_deliveries_list_is_a_404(api: APIClient, other_app: App) -> None:
    assert api.get(f"/api/v1/apps/{other_app.id}/deliveries/").status_code == 404


def test_one_delivery_comes_with_its_attempts_oldest_first(api: APIClient, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED, attempt_count=2)
    AttemptFactory(delivery=delivery, number=2, response_status=401, response_message="Bad token")
    AttemptFactory(delivery=delivery, number=1, http_status=None, response_status=None, error="timed out")

    response = api.get(f"/api/v1/deliveries/{delivery.id}/")

    assert response.status_code == 200
    attempts = response.json()["attempts"]
    assert [a["number"] for a in attempts] == [1, 2]
    assert attempts[0]["error"] == "timed out"
    assert attempts[1]["response_message"] == "Bad token"
    assert app.chartboost_app_token not in response.content.decode()


def test_another_organizations_delivery_is_a_404(api: APIClient, other_app: App) -> None:
    theirs = DeliveryFactory(event__app=other_app)

    assert api.get(f"/api/v1/deliveries/{theirs.id}/").status_code == 404


@time_machine.travel(datetime(2025, 3, 5, 12, tzinfo=UTC), tick=False)
def test_retrying_a_failed_delivery_answers_202_and_queues_it_at_once(
    api: APIClient, app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    delivery = DeliveryFactory(
        event__app=app, status=Status.FAILED, reason="gave up after 9 attempts", attempt_count=9,
        first_attempt_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    AttemptFactory(delivery=delivery, number=9)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(f"/api/v1/deliveries/{delivery.id}/retry/")

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["reason"], body["attempt_count"]) == ("pending", "", 9)
    # The first attempt stays as it was; only the retry window starts over, at the next attempt.
    assert body["first_attempt_at"] == "2025-03-01T00:00:00Z"
    assert body["retry_window_started_at"] is None
    assert len(body["attempts"]) == 1
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    # Claimed by deliveries_kick: a worker has been told to send it.
    assert delivery.lease_token


@pytest.mark.parametrize(
    "status", [Status.DELIVERED, Status.PENDING, Status.RETRYING, Status.SUPPRESSED, Status.BLOCKED]
)
def test_only_a_failed_delivery_can_be_retried(api: APIClient, app: App, status: Delivery.Status) -> None:
    delivery = DeliveryFactory(event__app=app, status=status)

    response = api.post(f"/api/v1/deliveries/{delivery.id}/retry/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Only a failed delivery can be retried; delivery {delivery.id} is {status}."
    }
    delivery.refresh_from_db()
    assert delivery.status == status


def test_retrying_another_organizations_delivery_is_a_404(api: APIClient, other_app: App) -> None:
    theirs = DeliveryFactory(event__app=other_app, status=Status.FAILED)

    assert api.post(f"/api/v1/deliveries/{theirs.id}/retry/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.FAILED


def test_recover_sends_again_every_failed_delivery_since_the_given_time(
    api: APIClient, app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    before = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime(2025, 2, 28, tzinfo=UTC))
    failed = [
        DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime(2025, 3, day, tzinfo=UTC))
        for day in (1, 2)
    ]
    delivered = DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=datetime(2025, 3, 2, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/apps/{app.id}/recover/", {"since": "2025-03-01T00:00:00Z"}, format="json")

    assert response.status_code == 202
    assert response.json() == {"count": 2}
    statuses = dict(Delivery.objects.values_list("id", "status"))
    assert [statuses[d.id] for d in failed] == ["pending", "pending"]
    assert statuses[before.id] == "failed" and statuses[delivered.id] == "delivered"


@pytest.mark.parametrize("body", [{}, {"since": "last week"}, {"since": None}, {"since": True}, {"since": 1700000000},
                                  {"since": -7261986438228}, {"since": {"at": "24h"}}])
def test_recover_needs_a_valid_since(api: APIClient, app: App, body: dict[str, object]) -> None:
    response = api.post(f"/api/v1/apps/{app.id}/recover/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["since"]


def test_recovering_another_organizations_app_is_a_404(api: APIClient, other_app: App) -> None:
    theirs = DeliveryFactory(event__app=other_app, status=Status.FAILED)

    response = api.post(f"/api/v1/apps/{other_app.id}/recover/", {"since": "2000-01-01T00:00:00Z"}, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.FAILED


def test_recover_takes_the_pages_time_inputs_such_as_24h(
    api: APIClient, app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    old = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime.now(tz=UTC) - timedelta(hours=30))
    recent = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime.now(tz=UTC) - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/apps/{app.id}/recover/", {"since": "24h"}, format="json")

    assert response.status_code == 202 and response.json() == {"count": 1}
    statuses = dict(Delivery.objects.values_list("id", "status"))
    assert (statuses[recent.id], statuses[old.id]) == ("pending", "failed")
