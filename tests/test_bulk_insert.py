"""`rows_insert`, `rows_insert_new` and `rows_update` (delivery/bulk_insert.py): many rows in a few
statements, stored as the ORM stores them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from delivery.bulk_insert import max_query_params, rows_insert, rows_insert_new, rows_update
from delivery.models import Delivery, DeviceLevel, TrackedEvent
from mappings.models import App
from tests.factories import MappingFactory, TrackedEventFactory

LEVEL_FIELDS = ("device", "event_field", "main_level", "sub_level")
EVENT_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "properties", "sdk_version",
                "limit_ad_tracking")
IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
RECEIVED = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def event_row(event_id: str, **overrides: object) -> tuple[object, ...]:
    values = {"event_id": event_id, "name": "level_up", "timestamp": 1_700_000_000, "platform": "iOS 17.4",
              "identifiers": {"ifa": IFA}, "device": IFA.replace("-", "").lower(), "properties": {"level": 3},
              "sdk_version": "", "limit_ad_tracking": False, **overrides}
    return tuple(values[name] for name in EVENT_FIELDS)


def test_it_returns_the_new_ids_in_the_order_of_the_rows(app: App) -> None:
    rows = [event_row(f"e-{n}") for n in (5, 1, 4, 2, 3)]
    ids = rows_insert(TrackedEvent, rows, fields=EVENT_FIELDS, same={"app": app.pk, "received_at": RECEIVED})
    stored = dict(TrackedEvent.objects.values_list("pk", "event_id"))
    assert [stored[pk] for pk in ids] == ["e-5", "e-1", "e-4", "e-2", "e-3"]


def test_json_times_and_booleans_read_back_as_they_were_given(app: App) -> None:
    properties = {"world": "Lunar Caverns ✨ “quoted”", "nested": {"list": [1, 2.5, None, True]}, "empty": {}}
    [pk] = rows_insert(TrackedEvent, [event_row("e-1", properties=properties, limit_ad_tracking=True)],
                       fields=EVENT_FIELDS, same={"app": app.pk, "received_at": RECEIVED})
    stored = TrackedEvent.objects.get(pk=pk)
    assert stored.properties == properties
    assert stored.identifiers == {"ifa": IFA}
    assert stored.limit_ad_tracking is True
    assert stored.received_at == RECEIVED
    assert stored.app == app


def test_columns_not_given_take_their_defaults_and_auto_now_the_current_time(app: App) -> None:
    event = TrackedEventFactory(app=app)
    mapping = MappingFactory(app=app)
    item = {"event_label": "level_up", "event_field": 1, "main_level": 3, "sub_level": 0}
    with time_machine.travel(RECEIVED, tick=False):
        pending, held = rows_insert(
            Delivery,
            [(event.pk, mapping.pk, 1, event.device, item, "pending", RECEIVED),
             (event.pk, None, 2, event.device, item, "suppressed", None)],
            fields=("event", "mapping", "event_field", "device", "item", "status", "next_attempt_at"),
            same={"app": app.pk},
        )
    first, second = Delivery.objects.get(pk=pending), Delivery.objects.get(pk=held)
    assert (first.mapping, first.item, first.next_attempt_at) == (mapping, item, RECEIVED)
    assert (second.mapping, second.status, second.next_attempt_at) == (None, "suppressed", None)
    assert (first.attempt_count, first.reason, first.lease_token, first.lease_until) == (0, "", "", None)
    assert first.created_at == first.updated_at == RECEIVED


def test_more_rows_than_one_statement_may_carry_go_in_several_statements(app: App) -> None:
    # A device level has 6 columns (with app and updated_at): one row more than fits.
    count = max_query_params() // 6 + 1
    rows = [(f"{n:032x}", 1, n + 1, 0) for n in range(count)]
    with CaptureQueriesContext(connection) as queries:
        ids = rows_insert(DeviceLevel, rows, fields=LEVEL_FIELDS, same={"app": app.pk})
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 2
    assert len(set(ids)) == count == DeviceLevel.objects.count()
    assert dict(DeviceLevel.objects.filter(pk__in=ids[-3:]).values_list("device", "main_level")) == {
        f"{n:032x}": n + 1 for n in range(count - 3, count)
    }


def test_a_row_that_breaks_a_unique_constraint_raises_and_its_statement_stores_nothing(app: App) -> None:
    rows_insert(DeviceLevel, [("d1", 1, 5, 0)], fields=LEVEL_FIELDS, same={"app": app.pk})
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(DeviceLevel, [("d2", 1, 1, 0), ("d1", 1, 6, 0)], fields=LEVEL_FIELDS, same={"app": app.pk})
    assert list(DeviceLevel.objects.values_list("device", "main_level")) == [("d1", 5)]


def test_no_rows_run_no_query(app: App) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert rows_insert(DeviceLevel, [], fields=LEVEL_FIELDS, same={"app": app.pk}) == []
    assert queries.captured_queries == []


def test_rows_insert_new_skips_rows_whose_key_is_taken_and_returns_the_new_ids_by_key(app: App) -> None:
    [taken] = rows_insert(TrackedEvent, [event_row("e-1")], fields=EVENT_FIELDS,
                          same={"app": app.pk, "received_at": RECEIVED})
    new = rows_insert_new(TrackedEvent, [event_row("e-2"), event_row("e-1", name="again"), event_row("e-3")],
                          fields=EVENT_FIELDS, same={"app": app.pk, "received_at": RECEIVED}, key=("app", "event_id"))
    stored = dict(TrackedEvent.objects.values_list("event_id", "pk"))
    assert new == {("e-2",): stored["e-2"], ("e-3",): stored["e-3"]}
    assert stored["e-1"] == taken
    assert TrackedEvent.objects.get(pk=taken).name == "level_up"


def test_rows_update_with_expect_changes_only_the_rows_that_still_hold_the_expected_values(app: App) -> None:
    ids = rows_insert(DeviceLevel, [("d1", 1, 5, 0), ("d2", 1, 7, 2), ("d3", 1, 1, 0)], fields=LEVEL_FIELDS,
                      same={"app": app.pk})
    # d2 is expected at 7.1 but holds 7.2: someone raised it meanwhile, so it is left alone.
    changed = rows_update(DeviceLevel, [(ids[0], 5, 0, 6, 0), (ids[1], 7, 1, 8, 0)],
                          expect=("main_level", "sub_level"), fields=("main_level", "sub_level"))
    assert changed == [ids[0]]
    assert list(DeviceLevel.objects.order_by("device").values_list("main_level", "sub_level")) == [
        (6, 0), (7, 2), (1, 0)]
