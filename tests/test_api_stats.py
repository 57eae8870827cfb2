"""GET /api/v1/apps/{app_id}/stats/?days=N: what became of each UTC day's deliveries (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, OrganizationFactory

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)


def _deliveries(app: App, day: int, hour: int, **per_status: int) -> None:
    for status, count in per_status.items():
        for _ in range(count):
            DeliveryFactory(event__app=app, status=status, created_at=datetime(2025, 3, day, hour, tzinfo=UTC))


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
