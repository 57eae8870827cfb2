"""`events_ingest`: a batch of events in, tracked events and deliveries out."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from delivery.ingest.service import events_ingest
from delivery.models import Delivery, DeviceLevel, EventName, TrackedEvent
from mappings.models import App, Mapping, Platform
from tests.concurrency import at_once
from tests.factories import AppFactory, EventPayloadFactory, MappingFactory
from trackerui.accounts.models import Organization

IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
DEVICE = "b1c99c76f014428590cf3a5c99d9dfc6"


def event(**overrides: Any) -> dict[str, Any]:
    return EventPayloadFactory(**overrides)


def statuses(answer: dict[str, Any]) -> list[str]:
    return [result["status"] for result in answer["results"]]


def delivery_statuses(answer: dict[str, Any]) -> list[str]:
    return [delivery["status"] for result in answer["results"] for delivery in result["deliveries"]]


@pytest.fixture
def level_mapping(app: App) -> Mapping:
    return MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")


def test_a_mapped_event_is_stored_with_one_pending_delivery_per_mapping(app: App, level_mapping: Mapping) -> None:
    area = MappingFactory(app=app, event_name="level_up", event_field=2, main_level_property="",
                          description_property="world")
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 12, "world": "Lunar"})])

    [result] = answer["results"]
    assert (result["event_id"], result["status"], result["errors"]) == ("e-1", "accepted", {})
    assert [(d["event_field"], d["status"]) for d in result["deliveries"]] == [(1, "pending"), (2, "pending")]
    assert {k: answer[k] for k in ("accepted", "duplicate", "unmapped", "rejected")} == {
        "accepted": 1, "duplicate": 0, "unmapped": 0, "rejected": 0
    }
    tracked = TrackedEvent.objects.get(app=app, event_id="e-1")
    assert tracked.device == DEVICE
    assert tracked.identifiers == {"ifa": IFA}
    first, second = Delivery.objects.filter(event=tracked).order_by("event_field")
    assert [first.pk, second.pk] == [d["id"] for d in result["deliveries"]]
    assert (first.mapping, first.app, first.device, first.status) == (level_mapping, app, DEVICE, "pending")
    assert first.next_attempt_at is not None and first.next_attempt_at <= timezone.now()
    assert first.item == {"event_label": "level_up", "event_field": 1, "main_level": 12, "sub_level": 0,
                          "description": "level_up", "data_type": "level_info"}
    assert second.mapping == area
    assert second.item == {"event_label": "level_up", "event_field": 2, "main_level": 1, "sub_level": 0,
                           "description": "Lunar", "data_type": "level_info"}


def test_an_event_without_an_active_mapping_is_stored_as_unmapped(app: App) -> None:
    MappingFactory(app=app, event_name="level_up", active=False)
    answer = events_ingest(app=app, events=[event(event_id="e-1"), event(event_id="e-2", name="tutorial_done")])
    assert statuses(answer) == ["unmapped", "unmapped"]
    assert answer["unmapped"] == 2
    assert TrackedEvent.objects.filter(app=app).count() == 2
    assert not Delivery.objects.exists()


def test_names_are_matched_exactly_once_stripped_of_surrounding_whitespace(app: App,
                                                                          level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(name="Level_Up"), event(name=" level_up ")])
    assert statuses(answer) == ["unmapped", "accepted"]


def test_a_stored_event_id_is_a_duplicate_that_creates_nothing(app: App, level_mapping: Mapping) -> None:
    events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 1})])
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 2})])
    assert answer["results"] == [{"event_id": "e-1", "status": "duplicate", "deliveries": [], "errors": {}}]
    assert answer["duplicate"] == 1
    assert TrackedEvent.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_stored_event_sent_again_is_a_duplicate_even_if_its_mapping_can_no_longer_read_it(
    app: App, level_mapping: Mapping
) -> None:
    events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 1})])
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={}),
                                            event(event_id="e-2", properties={})])
    assert statuses(answer) == ["duplicate", "rejected"]
    assert answer["results"][0]["errors"] == {}
    assert TrackedEvent.objects.count() == 1


def test_a_repeat_within_one_batch_is_a_duplicate(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 1}),
                                            event(event_id="e-1", properties={"level": 2})])
    assert statuses(answer) == ["accepted", "duplicate"]
    assert Delivery.objects.get().item["main_level"] == 1


def test_the_same_event_id_in_another_app_is_new(app: App) -> None:
    other = AppFactory(organization=app.organization)
    events_ingest(app=app, events=[event(event_id="e-1")])
    assert statuses(events_ingest(app=other, events=[event(event_id="e-1")])) == ["unmapped"]


def test_a_mixed_batch_keeps_its_good_events(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(
        app=app,
        events=[
            event(event_id="good-1", properties={"level": 1}),
            event(event_id="bad-ts", timestamp="yesterday"),
            "not an event",
            event(event_id="bad-level", properties={"level": "high"}),
            event(event_id="good-2", name="tutorial_done"),
            event(event_id="good-1"),
        ],
    )
    assert statuses(answer) == ["accepted", "rejected", "rejected", "rejected", "unmapped", "duplicate"]
    assert [result["event_id"] for result in answer["results"]] == [
        "good-1", "bad-ts", None, "bad-level", "good-2", "good-1"
    ]
    assert answer["results"][1]["errors"].keys() == {"timestamp"}
    assert answer["results"][3]["errors"].keys() == {"properties.level"}
    assert (answer["accepted"], answer["rejected"], answer["unmapped"], answer["duplicate"]) == (1, 3, 1, 1)
    assert set(TrackedEvent.objects.values_list("event_id", flat=True)) == {"good-1", "good-2"}


def test_a_rejected_event_echoes_the_event_id_it_sent(app: App) -> None:
    answer = events_ingest(app=app, events=[{"event_id": 42}, {"event_id": "x" * 200}, {"event_id": {"a": 1}}, {}])
    assert [result["event_id"] for result in answer["results"]] == [42, "x" * 200, None, None]
    assert all(result["errors"] for result in answer["results"])


def test_a_level_the_mapping_cannot_read_rejects_the_event_and_stores_nothing_of_it(
    app: App, level_mapping: Mapping
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=5, main_level_property="")
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={"level": 0})])
    [result] = answer["results"]
    assert result["status"] == "rejected"
    assert "Event ID 1" in result["errors"]["properties.level"][0]
    assert not TrackedEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert not EventName.objects.exists()
    assert not DeviceLevel.objects.exists()


def test_a_rejected_event_sent_again_corrected_is_new(app: App, level_mapping: Mapping) -> None:
    events_ingest(app=app, events=[event(event_id="e-1", properties={})])
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={"level": "4"})])
    assert statuses(answer) == ["accepted"]
    assert Delivery.objects.get().item["main_level"] == 4


def test_a_rejected_event_then_the_same_id_corrected_in_one_batch_is_accepted(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(event_id="e-1", properties={}),
                                            event(event_id="e-1", properties={"level": 4})])
    assert statuses(answer) == ["rejected", "accepted"]


def test_sequential_levels_3_5_4_5_6_in_one_batch(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(properties={"level": n}) for n in (3, 5, 4, 5, 6)])
    assert statuses(answer) == ["accepted"] * 5
    assert delivery_statuses(answer) == ["pending", "pending", "suppressed", "suppressed", "pending"]
    suppressed = Delivery.objects.filter(status="suppressed")
    assert {d.reason for d in suppressed} == {"Not sent: level 4 is not above level 5, already sent for this device",
                                              "Not sent: level 5 is not above level 5, already sent for this device"}
    assert all(d.next_attempt_at is None for d in suppressed)
    assert DeviceLevel.objects.get(app=app, device=DEVICE, event_field=1).main_level == 6


def test_sequential_levels_3_5_4_5_6_in_five_calls(app: App, level_mapping: Mapping) -> None:
    seen = []
    for n in (3, 5, 4, 5, 6):
        seen += delivery_statuses(events_ingest(app=app, events=[event(properties={"level": n})]))
    assert seen == ["pending", "pending", "suppressed", "suppressed", "pending"]


def test_sub_levels_count_in_the_sequential_rule(app: App) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=3, main_level_property="level",
                   sub_level_property="stage")
    answer = events_ingest(app=app, events=[event(properties={"level": 7, "stage": s}) for s in (0, 1, 1)])
    assert delivery_statuses(answer) == ["pending", "pending", "suppressed"]
    assert Delivery.objects.get(status="suppressed").reason == (
        "Not sent: level 7.1 is not above level 7.1, already sent for this device"
    )


def test_non_sequential_fields_are_never_suppressed(app: App) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=2, main_level_property="")
    answer = events_ingest(app=app, events=[event(), event()])
    assert delivery_statuses(answer) == ["pending", "pending"]
    assert not DeviceLevel.objects.exists()


def test_limit_ad_tracking_blocks_every_delivery_and_moves_no_level(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(event_id="lat", limit_ad_tracking=True, properties={"level": 9}),
                                            event(event_id="ok", properties={"level": 5})])
    assert statuses(answer) == ["accepted", "accepted"]
    assert delivery_statuses(answer) == ["blocked", "pending"]
    blocked = Delivery.objects.get(event__event_id="lat")
    assert "limit_ad_tracking" in blocked.reason
    assert blocked.next_attempt_at is None
    assert DeviceLevel.objects.get().main_level == 5


def test_limit_ad_tracking_with_an_all_zero_ifa_is_accepted_and_blocked(app: App, level_mapping: Mapping) -> None:
    answer = events_ingest(app=app, events=[event(limit_ad_tracking=True, identifiers={"ifa": "0" * 32})])
    assert delivery_statuses(answer) == ["blocked"]
    tracked = TrackedEvent.objects.get()
    assert (tracked.identifiers, tracked.device, tracked.limit_ad_tracking) == ({}, "", True)


def test_an_all_zero_gaid_is_not_stored(organization: Organization) -> None:
    android = AppFactory(organization=organization, platform=Platform.ANDROID)
    events_ingest(app=android, events=[event(platform="Android 14", identifiers={
        "gaid": "00000000-0000-0000-0000-000000000000", "uuid": "7b7940e5800bfcc2"})])
    tracked = TrackedEvent.objects.get()
    assert (tracked.identifiers, tracked.device) == ({"uuid": "7b7940e5800bfcc2"}, "7b7940e5800bfcc2")


def test_event_names_are_remembered_with_counts_and_an_example(app: App, level_mapping: Mapping) -> None:
    with time_machine.travel("2026-01-01 10:00:00Z", tick=False):
        events_ingest(app=app, events=[event(properties={"level": 1}), event(name="shop_open", properties={}),
                                       event(properties={"level": 2})])
    with time_machine.travel("2026-01-02 10:00:00Z", tick=False):
        events_ingest(app=app, events=[event(properties={"level": 3}), event(name="shop_open", properties=None),
                                       event(name="bad", timestamp=None)])

    level_up = EventName.objects.get(app=app, name="level_up")
    assert level_up.count == 3
    assert level_up.first_seen_at.isoformat() == "2026-01-01T10:00:00+00:00"
    assert level_up.last_seen_at.isoformat() == "2026-01-02T10:00:00+00:00"
    assert level_up.example_properties == {"level": 3}
    shop_open = EventName.objects.get(app=app, name="shop_open")
    assert (shop_open.count, shop_open.example_properties) == (2, {})
    assert not EventName.objects.filter(name="bad").exists()


def test_an_event_without_properties_keeps_the_example_already_remembered(app: App) -> None:
    events_ingest(app=app, events=[event(name="shop_open", properties={"shop": "gems"})])
    events_ingest(app=app, events=[event(name="shop_open", properties={})])
    assert EventName.objects.get(name="shop_open").example_properties == {"shop": "gems"}


def test_duplicates_are_not_counted_as_seen_again(app: App) -> None:
    events_ingest(app=app, events=[event(event_id="e-1")])
    events_ingest(app=app, events=[event(event_id="e-1")])
    assert EventName.objects.get().count == 1


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(app: App, level_mapping: Mapping) -> None:
    def queries_for(size: int, prefix: str) -> int:
        batch = [event(event_id=f"{prefix}-{n}", identifiers={"ifa": f"{n + 1:032x}"}, properties={"level": 2})
                 for n in range(size)]
        batch += [event(event_id=f"{prefix}-u{n}", name=f"other_{n % 3}") for n in range(size)]
        with CaptureQueriesContext(connection) as queries:
            events_ingest(app=app, events=batch)
        return len(queries)

    assert queries_for(5, "small") == queries_for(40, "large")


def test_pending_deliveries_are_queued_for_sending_after_commit(
    app: App, level_mapping: Mapping, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events_ingest(app=app, events=[event(properties={"level": 2}), event(properties={"level": 1}),
                                       event(limit_ad_tracking=True)])
    assert len(callbacks) == 1
    leased = dict(Delivery.objects.values_list("status", "lease_token").order_by("status"))
    assert leased["pending"] != ""
    assert leased["suppressed"] == "" and leased["blocked"] == ""


def test_deliveries_of_an_app_with_delivery_disabled_stay_pending_and_unclaimed(
    organization: Organization, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    paused = AppFactory(organization=organization, delivery_enabled=False)
    MappingFactory(app=paused, event_name="level_up", event_field=1, main_level_property="level")
    with django_capture_on_commit_callbacks(execute=True):
        answer = events_ingest(app=paused, events=[event(properties={"level": 2})])
    assert delivery_statuses(answer) == ["pending"]
    assert Delivery.objects.get().lease_token == ""


def test_nothing_is_queued_when_nothing_is_pending(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        events_ingest(app=app, events=[event()])
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingests_of_the_same_level_let_exactly_one_through() -> None:
    mapping = MappingFactory(event_name="level_up", event_field=1, main_level_property="level")

    def ingest(event_id: str) -> dict[str, Any]:
        return events_ingest(app=mapping.app, events=[event(event_id=event_id, properties={"level": 7})])

    answers = at_once(ingest, ("e-0",), ("e-1",))
    assert sorted(status for answer in answers for status in delivery_statuses(answer)) == ["pending", "suppressed"]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["pending", "suppressed"]
    assert DeviceLevel.objects.get().main_level == 7


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingests_of_the_same_event_id_store_it_once() -> None:
    app = MappingFactory(event_name="level_up", event_field=1, main_level_property="level").app

    def ingest(level: int) -> dict[str, Any]:
        return events_ingest(app=app, events=[event(event_id="same", properties={"level": level})])

    answers = at_once(ingest, (1,), (2,))
    assert sorted(statuses(answer)[0] for answer in answers) == ["accepted", "duplicate"]
    assert TrackedEvent.objects.count() == 1
    assert Delivery.objects.count() == 1

