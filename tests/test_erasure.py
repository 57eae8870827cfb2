"""Forgetting a device (`delivery/erasure.py`): nothing of it is left anywhere, and stats do not change."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.erasure import DeviceSubject, device_forget, opendsr_request_submit
from delivery.history.retention import deliveries_prune
from delivery.ingest.schema import device_digest
from delivery.models import Delivery, DeviceLevel, ErasedEvent, Erasure, EventName, RejectionRollup, TrackedEvent
from mappings.models import App
from tests.factories import AppFactory, AttemptFactory, EventPayloadFactory, MappingFactory
from trackerui.accounts.models import Organization

IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
OTHER_IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"


def forms_of(identifier: str) -> list[str]:
    """An identifier as it may be written: as sent, dash-less, lowercase and uppercase."""
    dashless = identifier.replace("-", "")
    return [identifier, identifier.lower(), identifier.upper(), dashless.lower(), dashless.upper()]


def ingest(api: APIClient, app: App, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post(f"/api/v1/apps/{app.pk}/events/", data=json.dumps({"events": events}),
                        content_type="application/json")
    assert response.status_code == 202, response.content
    return response.json()


@dataclass
class History:
    app: App
    second_app: App
    delivery_ids: list[int]
    stats: dict[str, Any]


def stats_of(api: APIClient, app: App) -> dict[str, Any]:
    response = api.get(f"/api/v1/apps/{app.pk}/stats/")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def history(api: APIClient, app: App) -> History:
    """Two apps of one organization that saw the device (and another device), with every kind of row."""
    second_app = AppFactory(organization=app.organization)
    for each in (app, second_app):
        MappingFactory(app=each, event_name="level_up", event_field=1, main_level_property="level")
    ingest(api, app, [EventPayloadFactory(event_id="other-1", identifiers={"ifa": OTHER_IFA}, properties={"level": 2})])
    answer = ingest(api, app, [
        EventPayloadFactory(event_id="e-1", identifiers={"ifa": IFA}, properties={"level": 3}),
        EventPayloadFactory(event_id="e-2", identifiers={"ifa": IFA.lower()}, properties={"level": 5, "hero": "ana"}),
        EventPayloadFactory(event_id="e-3", name="shop_open", identifiers={"ifa": IFA}, properties={"slot": 2}),
        # Rejected: its mapping cannot read the level; the example keeps a masked identifier.
        EventPayloadFactory(event_id="e-4", identifiers={"ifa": IFA}, properties={"level": "high"}),
    ])
    assert [r["status"] for r in answer["results"]] == ["accepted", "accepted", "unmapped", "rejected"]
    ingest(api, second_app, [EventPayloadFactory(event_id="e-1", identifiers={"ifa": IFA.replace("-", "")},
                                                 properties={"level": 7, "note": IFA})])
    delivery_ids = list(Delivery.objects.filter(device=IFA.replace("-", "").lower()).values_list("pk", flat=True))
    first = Delivery.objects.get(pk=delivery_ids[0])
    # The request as sent, which carries the identifier.
    AttemptFactory(delivery=first, number=1, request_body={"ifa": IFA, "track_info": [first.item]},
                   response_body=json.dumps({"status": 200, "message": f"ok {IFA}"}))
    return History(app=app, second_app=second_app, delivery_ids=delivery_ids, stats=stats_of(api, app))


def every_row_text() -> str:
    """Every row of every table (ours, Django's, django-q's, the audit trail's), as text."""
    rows = []
    for model in apps.get_models(include_auto_created=True):
        rows.extend(repr(row) for row in model._base_manager.all().values())
    return "\n".join(rows)


def assert_nowhere(text: str, identifier: str = IFA) -> None:
    for form in forms_of(identifier):
        assert form not in text, form


def test_forgetting_a_device_leaves_none_of_its_identifiers_in_any_table(api: APIClient, history: History) -> None:
    assert IFA in every_row_text()
    response = api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA.replace("-", "").lower()}},
                        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["erased"] == {
        "tracked_events": 4, "deliveries": 3, "attempts": 1, "device_levels": 2,
        "catalogue_examples": 3, "rejection_examples": 1,
    }
    assert response.json()["status"] == "completed"
    assert_nowhere(every_row_text())
    # The other device is untouched.
    assert OTHER_IFA in every_row_text()
    assert TrackedEvent.objects.filter(event_id="other-1").exists()


def test_forgetting_a_device_keeps_the_stats(api: APIClient, history: History) -> None:
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    assert stats_of(api, history.app) == history.stats


def test_no_page_api_answer_export_or_admin_page_shows_a_forgotten_device(
    api: APIClient, history: History, signed_in_client: Client, staff_client: Client
) -> None:
    app = history.app
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    pages = [
        (signed_in_client, f"/apps/{app.pk}/"),
        (signed_in_client, f"/apps/{app.pk}/mappings/"),
        (signed_in_client, f"/apps/{app.pk}/deliveries/"),
        (signed_in_client, f"/apps/{app.pk}/deliveries/export.csv"),
        (signed_in_client, f"/apps/{history.second_app.pk}/deliveries/"),
        (signed_in_client, "/settings/privacy/"),
        (api, f"/api/v1/apps/{app.pk}/deliveries/"),
        (api, f"/api/v1/apps/{app.pk}/event-names/"),
        (staff_client, "/admin/delivery/delivery/"),
        (staff_client, "/admin/delivery/trackedevent/"),
        (staff_client, "/admin/delivery/eventname/"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert_nowhere(body.decode())
    for delivery_id in history.delivery_ids:
        assert signed_in_client.get(f"/deliveries/{delivery_id}/").status_code == 404
        assert api.get(f"/api/v1/deliveries/{delivery_id}/").status_code == 404
    # A search by the device finds nothing.
    assert api.get("/api/v1/deliveries/", {"device": IFA}).json()["count"] == 0
    page = signed_in_client.get("/deliveries/", {"device": IFA}).content.decode()
    # The form and its time presets' links repeat the query as typed: that is all the page may show of it.
    assert_nowhere(re.sub(rf"(value=\"|device=){IFA}", "", page))


def test_an_erased_event_sent_again_is_a_duplicate_and_a_new_one_is_accepted(api: APIClient, history: History) -> None:
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    answer = ingest(api, history.app, [
        EventPayloadFactory(event_id="e-1", identifiers={"ifa": IFA}, properties={"level": 3}),
        EventPayloadFactory(event_id="e-new", identifiers={"ifa": IFA}, properties={"level": 1}),
    ])
    assert [r["status"] for r in answer["results"]] == ["duplicate", "accepted"]
    # Its levels were forgotten too: level 1 is above nothing.
    assert Delivery.objects.get(event__event_id="e-new").status == Delivery.Status.PENDING


def test_the_rejection_example_keeps_its_errors_and_loses_the_event(api: APIClient, history: History) -> None:
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    example = RejectionRollup.objects.get(app=history.app).example
    assert example == {"errors": example["errors"]} and example["errors"]


def test_another_organizations_rows_of_the_same_device_stay(api: APIClient, history: History) -> None:
    other = AppFactory()
    event = TrackedEvent.objects.create(app=other, event_id="x", name="level_up", timestamp=1, platform="iOS",
                                        identifiers={"ifa": IFA}, device=IFA.replace("-", "").lower())
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    assert TrackedEvent.objects.filter(pk=event.pk).exists()


def test_an_erasure_is_audited_with_who_and_the_counts_but_no_identifier(api: APIClient, history: History) -> None:
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    erasure = Erasure.objects.get()
    records = list(Erasure.audit_trail.filter(id=erasure.pk).order_by("history_id"))
    assert [(r.actor_type, r.source, r.status) for r in records] == [("api_key", "api", "pending"),
                                                                     ("api_key", "api", "completed")]
    assert records[-1].tracked_events == 4
    assert_nowhere(repr(list(Erasure.audit_trail.values())))


def test_an_opendsr_request_for_a_sha256_identity_completes_and_erases_the_same_rows(
    history: History, organization: Organization
) -> None:
    digest = hashlib.sha256(IFA.lower().encode()).hexdigest()
    assert device_digest(IFA.replace("-", "").lower()) == digest
    erasure, created = opendsr_request_submit(organization=organization, subject_request_id=uuid.uuid4(),
                                              submitted_at=history.app.created_at,
                                              subject=DeviceSubject(digests=frozenset({digest})))
    assert created and erasure.status == Erasure.Status.COMPLETED
    assert erasure.counts() == {"tracked_events": 4, "deliveries": 3, "attempts": 1, "device_levels": 2,
                                "catalogue_examples": 3, "rejection_examples": 1}
    assert_nowhere(every_row_text())


def test_a_device_found_by_one_identifier_is_forgotten_by_all_its_events_carried(app: App) -> None:
    """An Android event keyed by its gaid also carried a uuid; forgetting by the gaid finds events keyed by the uuid."""
    gaid, own_uuid = "38400000-8cf0-11bd-b23e-10b96e40000d", "player-7f3a9c21"
    TrackedEvent.objects.create(app=app, event_id="a", name="x", timestamp=1, platform="Android",
                                identifiers={"gaid": gaid, "uuid": own_uuid}, device=gaid.replace("-", ""))
    TrackedEvent.objects.create(app=app, event_id="b", name="x", timestamp=1, platform="Android",
                                identifiers={"uuid": own_uuid}, device=own_uuid.replace("-", ""))
    subject = DeviceSubject(keys=frozenset({gaid.replace("-", "")}))
    erasure = device_forget(organization=app.organization, subject=subject)
    assert erasure.tracked_events == 2
    assert not TrackedEvent.objects.exists()


def test_the_catalogue_keeps_examples_of_other_devices(api: APIClient, history: History) -> None:
    ingest(api, history.app, [EventPayloadFactory(event_id="other-2", name="level_up", identifiers={"ifa": OTHER_IFA},
                                                  properties={"level": 9})])
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    assert EventName.objects.get(app=history.app, name="level_up").example_properties == {"level": 9}
    assert DeviceLevel.objects.filter(device=OTHER_IFA.replace("-", "").lower()).exists()


def test_a_sha256_request_finds_levels_whose_events_were_pruned(api: APIClient, history: History,
                                                                 organization: Organization) -> None:
    key = IFA.replace("-", "").lower()
    assert set(DeviceLevel.objects.filter(device=key).values_list("device_sha256", flat=True)) == {device_digest(key)}
    TrackedEvent.objects.filter(device=key).delete()
    erasure, _ = opendsr_request_submit(organization=organization, subject_request_id=uuid.uuid4(),
                                        submitted_at=history.app.created_at,
                                        subject=DeviceSubject(digests=frozenset({device_digest(key)})))
    assert erasure.device_levels == 2
    assert not DeviceLevel.objects.filter(device=key).exists()


def test_pruning_forgets_the_keys_of_erased_events_with_the_events(api: APIClient, history: History) -> None:
    api.post("/api/v1/devices/forget/", {"identifiers": {"ifa": IFA}}, format="json")
    assert ErasedEvent.objects.count() == 4
    deliveries_prune(older_than_seconds=0, now=timezone.now() + timedelta(days=365))
    assert not ErasedEvent.objects.exists()


def test_the_migration_fills_digests_by_the_same_rule_as_ingestion() -> None:
    migration = importlib.import_module("delivery.migrations.0011_erasure")
    for device in ("", IFA.replace("-", "").lower(), "player-42"):
        assert migration.device_digest(device) == device_digest(device)
