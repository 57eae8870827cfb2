"""GET /api/v1/apps/{app_id}/stats/?days=N: what became of each UTC day's deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from delivery.models import Delivery, DeliveryDayRollup, DeliveryRollup
from delivery.outbox.recovery import delivery_retry
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, OrganizationFactory

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)


def _deliveries(app: App, day: int, hour: int, event_field: int = 1, **per_status: int) -> None:
    for status, count in per_status.items():
        for _ in range(count):
            DeliveryFactory(event__app=app, status=status, event_field=event_field,
                            created_at=datetime(2025, 3, day, hour, tzinfo=UTC))


def _day(body: dict, date: str) -> dict:
    return next(row for row in body["days"] if row["date"] == date)


@time_machine.travel(NOW, tick=False)
def test_it_counts_each_days_deliveries_by_what_became_of_them(api: APIClient, app: App) -> None:
    # Two days of traffic, at the very edges of each UTC day, and an empty day before them.
    _deliveries(app, 9, 0, delivered=3, failed=1, suppressed=2)
    _deliveries(app, 9, 23, blocked=1)
    _deliveries(app, 10, 0, delivered=1, failed=1, blocked=2, pending=1, retrying=2)
    _deliveries(app, 7, 12, delivered=5)  # Before the range.
    DeliveryFactory(event__app=AppFactory(organization=app.organization), created_at=NOW)  # Another app.

    response = api.get(f"/api/v1/apps/{app.id}/stats/?days=3")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["app_id"] == app.id
    assert body["days"] == [
        {"date": "2025-03-08", "received": 0, "delivered": 0, "failed": 0, "suppressed": 0, "blocked": 0,
         "pending": 0, "success_rate": None},
        {"date": "2025-03-09", "received": 7, "delivered": 3, "failed": 1, "suppressed": 2, "blocked": 1,
         "pending": 0, "success_rate": 0.75},
        {"date": "2025-03-10", "received": 7, "delivered": 1, "failed": 1, "suppressed": 0, "blocked": 2,
         "pending": 3, "success_rate": 0.5},
    ]
    assert body["totals"] == {"received": 14, "delivered": 4, "failed": 2, "suppressed": 2, "blocked": 3,
                              "pending": 3, "success_rate": 0.6667}
    assert all(next(iter(row)) == "date" for row in body["days"])


@time_machine.travel(NOW, tick=False)
def test_it_shows_the_last_14_days_by_default_oldest_first(api: APIClient, app: App) -> None:
    days = api.get(f"/api/v1/apps/{app.id}/stats/").json()["days"]

    assert len(days) == 14
    assert (days[0]["date"], days[-1]["date"]) == ("2025-02-25", "2025-03-10")


def test_it_allows_a_whole_year(api: APIClient, app: App) -> None:
    assert len(api.get(f"/api/v1/apps/{app.id}/stats/?days=365").json()["days"]) == 365


@pytest.mark.parametrize("days", ["0", "366", "-1", "two"])
def test_days_outside_1_to_365_is_a_400_naming_days(api: APIClient, app: App, days: str) -> None:
    response = api.get(f"/api/v1/apps/{app.id}/stats/?days={days}")

    assert response.status_code == 400
    assert list(response.json()) == ["days"]


def test_another_organizations_stats_are_a_404(api: APIClient) -> None:
    theirs = AppFactory(organization=OrganizationFactory())

    assert api.get(f"/api/v1/apps/{theirs.id}/stats/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_it_counts_the_last_second_of_a_day_in_that_day_and_midnight_in_the_next(api: APIClient, app: App) -> None:
    DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC))
    DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime(2025, 3, 10, 0, 0, tzinfo=UTC))

    body = api.get(f"/api/v1/apps/{app.id}/stats/?days=2").json()

    assert (_day(body, "2025-03-09")["delivered"], _day(body, "2025-03-09")["failed"]) == (1, 0)
    assert (_day(body, "2025-03-10")["delivered"], _day(body, "2025-03-10")["failed"]) == (0, 1)


@time_machine.travel(NOW, tick=False)
def test_event_field_counts_only_the_deliveries_to_that_event_id(api: APIClient, app: App) -> None:
    _deliveries(app, 10, 9, event_field=1, delivered=2, failed=1)
    _deliveries(app, 10, 9, event_field=3, delivered=5)

    only_3 = api.get(f"/api/v1/apps/{app.id}/stats/?days=1&event_field=3").json()
    every = api.get(f"/api/v1/apps/{app.id}/stats/?days=1").json()

    assert only_3["totals"] == {"received": 5, "delivered": 5, "failed": 0, "suppressed": 0, "blocked": 0,
                                "pending": 0, "success_rate": 1.0}
    assert every["totals"]["received"] == 8


@pytest.mark.parametrize("event_field", ["0", "6", "one"])
def test_event_field_outside_1_to_5_is_a_400_naming_event_field(api: APIClient, app: App, event_field: str) -> None:
    response = api.get(f"/api/v1/apps/{app.id}/stats/?event_field={event_field}")

    assert response.status_code == 400
    assert list(response.json()) == ["event_field"]


def test_the_schema_offers_the_event_field_filter_on_stats(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    parameters = schema["paths"]["/api/v1/apps/{app_id}/stats/"]["get"]["parameters"]
    event_field = next(p for p in parameters if p["name"] == "event_field")
    assert event_field["in"] == "query"
    assert event_field["schema"]["minimum"] == 1 and event_field["schema"]["maximum"] == 5


def test_a_retry_weeks_later_moves_the_old_days_count_from_failed_to_pending(api: APIClient, app: App) -> None:
    created = datetime.now(tz=UTC) - timedelta(days=20)
    failed = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=created)
    DeliveryFactory(event__app=app, status=Status.FAILED, created_at=created)
    old_day = created.date().isoformat()
    assert _day(api.get(f"/api/v1/apps/{app.id}/stats/?days=30").json(), old_day)["failed"] == 2

    delivery_retry(delivery=failed)

    row = _day(api.get(f"/api/v1/apps/{app.id}/stats/?days=30").json(), old_day)
    assert (row["received"], row["failed"], row["pending"]) == (2, 1, 1)
    hour = created.replace(minute=0, second=0, microsecond=0)
    rollups = dict(DeliveryRollup.objects.filter(app=app, hour=hour).values_list("status", "count"))
    assert rollups == {Status.FAILED: 1, Status.PENDING: 1}


def test_stats_take_the_same_queries_for_3_deliveries_or_30(api: APIClient, app: App) -> None:
    def queries_for_stats() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"/api/v1/apps/{app.id}/stats/?days=30").status_code == 200
        return len(captured)

    now = datetime.now(tz=UTC)
    for days_ago in range(3):
        DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=now - timedelta(days=days_ago))
    # The key's first use of the minute also notes when it was last used: one query more, once.
    queries_for_stats()
    with_3 = queries_for_stats()
    for days_ago in range(27):
        DeliveryFactory(event__app=app, status=Status.FAILED, event_field=days_ago % 5 + 1,
                        created_at=now - timedelta(days=days_ago, hours=days_ago))

    assert queries_for_stats() == with_3


def test_stats_read_the_rollups_and_not_the_deliveries(api: APIClient, app: App) -> None:
    DeliveryFactory(event__app=app, status=Status.DELIVERED)

    with CaptureQueriesContext(connection) as captured:
        api.get(f"/api/v1/apps/{app.id}/stats/?days=30")

    tables = " ".join(query["sql"] for query in captured.captured_queries)
    assert DeliveryDayRollup._meta.db_table in tables
    assert f'"{Delivery._meta.db_table}"' not in tables
