"""Rejected events counted per (app, UTC hour, reason code), with a small masked example, and read back
for the last 24 hours and 7 days (`delivery.history.rejections`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.history.rejections import rejection_reason, rejections_summary
from delivery.ingest.service import events_ingest
from delivery.models import RejectionRollup
from mappings.models import App
from tests.factories import AppFactory, EventPayloadFactory, MappingFactory

NOW = datetime(2025, 3, 10, 15, 20, tzinfo=UTC)
IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"


def event(**overrides: Any) -> dict[str, Any]:
    return EventPayloadFactory(**overrides)


def counts(app: App) -> dict[tuple[datetime, str], int]:
    return {(row.hour, row.reason): row.count for row in RejectionRollup.objects.filter(app=app)}


@time_machine.travel(NOW, tick=False)
def test_each_batchs_rejections_are_counted_per_reason_in_the_hour_they_arrived(app: App) -> None:
    MappingFactory(app=app, event_name="level_up", main_level_property="level")
    hour = datetime(2025, 3, 10, 15, tzinfo=UTC)

    events_ingest(app=app, events=[
        event(timestamp="yesterday"), event(timestamp=-5), event(identifiers={"ifa": "not-an-ifa"}),
        event(properties={"stage": 2}), event(), "not an object",
    ])
    events_ingest(app=app, events=[event(timestamp=None)])

    assert counts(app) == {
        (hour, "timestamp"): 3, (hour, "identifiers.ifa"): 1, (hour, "properties.level"): 1,
        (hour, "non_field_errors"): 1,
    }


@time_machine.travel(NOW, tick=False)
def test_a_batch_of_nothing_but_rejections_is_counted_too(app: App) -> None:
    answer = events_ingest(app=app, events=[event(name=""), event(name="")])

    assert answer["rejected"] == 2
    assert list(counts(app).values()) == [2]


@time_machine.travel(NOW, tick=False)
def test_a_batch_without_rejections_writes_no_rejection_rows(app: App) -> None:
    events_ingest(app=app, events=[event()])

    assert not RejectionRollup.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_batch_writes_its_rejections_with_one_statement_whatever_their_reasons(app: App) -> None:
    with CaptureQueriesContext(connection) as captured:
        events_ingest(app=app, events=[event(timestamp=None), event(name=None), event(platform=None), event()])

    writes = [q for q in captured.captured_queries if RejectionRollup._meta.db_table in q["sql"]]
    assert len(writes) == 1
    assert len(counts(app)) == 3


@time_machine.travel(NOW, tick=False)
def test_the_example_masks_identifiers_to_their_last_four_characters_and_keeps_properties_small(app: App) -> None:
    properties = {f"p{n}": "x" * 500 for n in range(30)} | {"nested": {"deep": [1, 2, 3]}}
    events_ingest(app=app, events=[event(event_id="evt-7", timestamp=None, identifiers={"ifa": IFA},
                                         properties=properties, secret_extra="do not keep")])

    example = RejectionRollup.objects.get(app=app).example
    assert example["errors"] == {"timestamp": ["This field may not be null."]}
    shown = example["event"]
    assert shown["event_id"] == "evt-7"
    assert shown["identifiers"] == {"ifa": "…DFC6"}
    assert IFA not in str(example) and IFA.lower().replace("-", "") not in str(example)
    assert len(shown["properties"]) == 10
    assert all(len(value) <= 100 for value in shown["properties"].values())
    assert "secret_extra" not in shown


@time_machine.travel(NOW, tick=False)
def test_an_event_rejected_by_a_mapping_keeps_its_example_masked_too(app: App) -> None:
    MappingFactory(app=app, event_name="level_up", main_level_property="level")

    events_ingest(app=app, events=[event(identifiers={"ifa": IFA}, properties={"level": "high"})])

    example = RejectionRollup.objects.get(app=app, reason="properties.level").example
    assert example["event"]["identifiers"] == {"ifa": "…DFC6"}
    assert example["event"]["properties"] == {"level": "high"}
    assert "device" not in example["event"]
    assert list(example["errors"]) == ["properties.level"]


def test_the_reason_code_is_the_first_error_field_made_storable_and_at_most_100_characters() -> None:
    assert rejection_reason({"identifiers.ifa": ["..."], "timestamp": ["..."]}) == "identifiers.ifa"
    assert rejection_reason({"properties.a\x00b": ["Control characters ..."]}) == "properties.a?b"
    assert len(rejection_reason({"properties." + "k" * 300: ["..."]})) == 100
    assert rejection_reason({}) == "non_field_errors"


def test_the_summary_counts_each_reason_over_24_hours_and_7_days_with_the_latest_example(app: App) -> None:
    def reject_at(moment: datetime, **overrides: Any) -> None:
        with time_machine.travel(moment, tick=False):
            events_ingest(app=app, events=[event(**overrides)])

    reject_at(NOW - timedelta(days=8), timestamp=None)  # Older than 7 days: not counted.
    reject_at(NOW - timedelta(days=3), timestamp=None, event_id="old")
    reject_at(NOW - timedelta(hours=2), timestamp=None, event_id="recent")
    reject_at(NOW - timedelta(hours=1), name=None)
    reject_at(NOW - timedelta(hours=1), name=None)
    reject_at(NOW, name=None, timestamp=None, event_id="both")  # Its first error is the name's.
    reject_at(NOW - timedelta(hours=1), event_id="fine")
    AppFactory()  # Another app's rejections never show.

    with time_machine.travel(NOW, tick=False):
        summary = rejections_summary(app)

    assert [(r.reason, r.count) for r in summary.last_24h] == [("name", 3), ("timestamp", 1)]
    assert [(r.reason, r.count) for r in summary.last_7d] == [("name", 3), ("timestamp", 2)]
    timestamp_7d = summary.last_7d[1]
    assert timestamp_7d.example["event"]["event_id"] == "recent"
    assert timestamp_7d.last_seen_at == NOW - timedelta(hours=2)
    assert summary.last_24h[0].example["event"]["event_id"] == "both"
