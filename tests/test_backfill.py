"""Backfill (delivery/ingest/backfill.py): `POST /api/v1/apps/{app_id}/backfill/` and the mapping page's form."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from delivery import tasks
from delivery.ingest.backfill import BACKFILL_TASK
from delivery.ingest.service import events_ingest
from delivery.models import Backfill, Delivery, DeviceLevel
from mappings.models import App, Mapping
from mappings.services import mapping_create
from tests.live_receiver import queued_take

T = TypeVar("T")
IFA = "6d92078a8246413bba8c18a3f1a9e3c4"


def _store(app: App, levels: list[int], *, start: int, device: str = IFA, name: str = "level_complete") -> None:
    """Stored events, one a second from `start`, before any mapping: unmapped."""
    events_ingest(app=app, events=[
        {"event_id": f"{name}-{start + n}", "name": name, "timestamp": start + n, "platform": "iOS 17.4",
         "identifiers": {"ifa": device}, "properties": {"level": level}}
        for n, level in enumerate(levels)
    ])


def _run_queued() -> int:
    """Run the queued backfill tasks here, as a worker would; return the deliveries they created."""
    return sum(tasks.backfill_run(*task["args"]) for task in queued_take(BACKFILL_TASK))


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[Callable[[], T]], T]:
    """Run a request, then what its commit would (queue the backfill task): the test's transaction never commits."""
    def run(call: Callable[[], T]) -> T:
        with django_capture_on_commit_callbacks(execute=True):
            return call()
    return run


@pytest.fixture
def backfill(committed: Callable[[Callable[[], Any]], Any]) -> Callable[[APIClient, App, dict[str, Any]], Any]:
    def post(api: APIClient, app: App, body: dict[str, Any]) -> Any:
        return committed(lambda: api.post(f"/api/v1/apps/{app.pk}/backfill/", body, format="json"))
    return post


@pytest.fixture
def start() -> int:
    return int(time.time()) - 3600


@pytest.fixture
def mapping(app: App) -> Mapping:
    return mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")


def test_it_answers_202_with_the_count_and_creates_one_delivery_per_stored_event(
    api: APIClient, backfill: Any, app: App, start: int
) -> None:
    _store(app, [1, 2, 3], start=start)
    _store(app, [1], start=start, name="other_event")
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")

    response = backfill(api, app, {"since": "2h", "event_field": 1})

    assert response.status_code == 202, response.json()
    assert (response.json()["count"], response.json()["event_name"]) == (3, "level_complete")
    assert _run_queued() == 3
    deliveries = Delivery.objects.filter(app=app).order_by("event__timestamp")
    assert [(d.item["main_level"], d.status) for d in deliveries] == [(1, "pending"), (2, "pending"), (3, "pending")]


def test_a_second_backfill_creates_nothing(api: APIClient, backfill: Any, app: App, start: int) -> None:
    _store(app, [1, 2], start=start)
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    backfill(api, app, {"since": "2h", "event_field": 1})
    _run_queued()

    again = backfill(api, app, {"since": "2h", "event_field": 1})

    assert again.json()["count"] == 0
    assert _run_queued() == 0 and Delivery.objects.filter(app=app).count() == 2


def test_running_the_same_backfill_twice_creates_each_delivery_once(app: App, start: int) -> None:
    _store(app, [4, 5], start=start)
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    client_backfill = Backfill.objects.create(app=app, event_field=1, event_name="level_complete",
                                              since=timezone.now() - timedelta(hours=2), actor_type="system",
                                              actor_name="system", source="system", count=2)

    assert tasks.backfill_run(client_backfill.pk) == 2
    assert tasks.backfill_run(client_backfill.pk) == 0
    assert Delivery.objects.filter(app=app).count() == 2


def test_it_applies_the_sequential_rule_in_event_time_order_with_the_devices_live_level(
    api: APIClient, backfill: Any, app: App, start: int
) -> None:
    # Stored out of order: event time decides, not arrival.
    _store(app, [5], start=start + 10)
    _store(app, [3, 7, 6], start=start)
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    # A live event after the mapping was added raised the device to 6 already.
    _store(app, [6], start=start + 100)

    backfill(api, app, {"since": "2h", "event_field": 1})
    _run_queued()

    backfilled = Delivery.objects.filter(app=app, event__timestamp__lt=start + 100).order_by("event__timestamp")
    assert [(d.item["main_level"], d.status) for d in backfilled] == [
        (3, "suppressed"), (7, "pending"), (6, "suppressed"), (5, "suppressed")]
    assert DeviceLevel.objects.get(app=app, device=IFA).main_level == 7


def test_it_is_recorded_with_who_when_since_field_and_count(
    api: APIClient, backfill: Any, app: App, mapping: Mapping, start: int
) -> None:
    backfill(api, app, {"since": "2025-03-01T00:00:00Z", "event_field": 1})

    record = Backfill.objects.get(app=app)
    assert (record.actor_type, record.source, record.event_field, record.count) == ("api_key", "api", 1, 0)
    assert record.since.isoformat() == "2025-03-01T00:00:00+00:00"
    assert record.finished_at is not None


def test_its_deliveries_fall_due_at_a_pace_behind_live_ones(
    api: APIClient, backfill: Any, app: App, start: int, settings: object
) -> None:
    settings.BACKFILL_PER_SECOND = 2  # type: ignore[attr-defined]
    _store(app, list(range(1, 1201)), start=start - 1200)
    mapping_create(app=app, event_name="level_complete", event_field=5)

    backfill(api, app, {"since": "3h", "event_field": 5})
    before = timezone.now()
    _run_queued()

    due = sorted(Delivery.objects.filter(app=app, status="pending").values_list("next_attempt_at", flat=True))
    assert len(due) == 1200
    # One after another at 2 a second, across its chunks of 500, 500 and 200 too: never a chunk at once.
    assert due[0] <= before + timedelta(seconds=5)
    # (A chunk starts where the one before ends, give or take the moments it took to write.)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(due, due[1:], strict=False)]
    assert all(0.4 <= gap <= 0.5 for gap in gaps), sorted(set(gaps))
    assert due[-1] - due[0] >= timedelta(seconds=1199 / 2 - 1)


def test_an_event_id_without_an_active_mapping_is_a_400(api: APIClient, backfill: Any, app: App) -> None:
    response = backfill(api, app, {"since": "24h", "event_field": 3})

    assert response.status_code == 400
    assert "no active mapping" in response.json()["event_field"][0]


def test_a_bad_since_is_a_400_naming_it(api: APIClient, backfill: Any, app: App, mapping: Mapping) -> None:
    response = backfill(api, app, {"since": "yesterday", "event_field": 1})

    assert response.status_code == 400 and "since" in response.json()


def test_another_organizations_app_is_a_404(api: APIClient, other_app: App) -> None:
    response = api.post(f"/api/v1/apps/{other_app.pk}/backfill/", {"since": "24h", "event_field": 1}, format="json")

    assert response.status_code == 404


def test_the_mapping_page_backfills_and_says_how_many(
    signed_in_client: Client, committed: Any, member: User, app: App, start: int
) -> None:
    _store(app, [1, 2], start=start)
    mapping = mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    page = signed_in_client.get(f"/apps/{app.pk}/mappings/{mapping.pk}/edit/").content.decode()
    assert 'id="mapping-backfill"' in page

    response = committed(lambda: signed_in_client.post(f"/apps/{app.pk}/backfill/", {"since": "24h", "event_field": 1},
                                                       follow=True))

    assert response.redirect_chain[-1][0] == f"/apps/{app.pk}/mappings/{mapping.pk}/edit/"
    assert "Backfill queued: 2 stored events" in response.content.decode()
    assert Backfill.objects.get(app=app).actor_name == member.username
    assert _run_queued() == 2
