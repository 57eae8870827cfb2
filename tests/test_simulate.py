"""Simulate (delivery/ingest/simulate.py): `POST /api/v1/apps/{app_id}/simulate/` and "Try this mapping"."""

from __future__ import annotations

import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from delivery.ingest.service import events_ingest
from delivery.models import Delivery, DeviceLevel, TrackedEvent
from mappings.models import App, Mapping
from mappings.services import mapping_create

IFA = "6d92078a8246413bba8c18a3f1a9e3c4"
OTHER = "0f92078a8246413bba8c18a3f1a9e3c4"
DRAFT = {"event_name": "level_complete", "event_field": 1, "main_level_property": "level",
         "description_property": "level_name"}


def _store(app: App, rows: list[tuple[str, dict[str, object]]], *, ago: int = 3600, **extra: object) -> None:
    now = int(time.time()) - ago
    events_ingest(app=app, events=[
        {"event_id": f"e-{ago}-{n}", "name": "level_complete", "timestamp": now + n, "platform": "iOS 17.4",
         "identifiers": {"ifa": device}, "properties": properties, **extra}
        for n, (device, properties) in enumerate(rows)
    ])


def test_it_counts_sent_rejected_by_reason_and_suppressed_with_example_items(api: APIClient, app: App) -> None:
    _store(app, [(IFA, {"level": 3, "level_name": "Cave"}), (IFA, {"level": 2}), (IFA, {"level": 5}),
                 (OTHER, {"level": "x"}), (OTHER, {}), (OTHER, {"level": 1})])

    response = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT], "days": 1}, format="json")

    assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    assert (result["matched"], result["sent"], result["rejected"], result["suppressed"]) == (6, 3, 2, 1)
    [reason] = result["rejected_by_reason"]
    assert (reason["reason"], reason["count"]) == ("properties.level", 2)
    assert "non-zero integer" in reason["examples"][0]["message"]
    assert result["examples"][0]["item"] == {
        "event_label": "level_complete", "event_field": 1, "main_level": 3, "sub_level": 0, "description": "Cave",
        "data_type": "level_info"}


def test_it_starts_from_the_devices_stored_levels(api: APIClient, app: App) -> None:
    _store(app, [(IFA, {"level": 3}), (IFA, {"level": 8})])
    DeviceLevel.objects.create(app=app, device=IFA, event_field=1, main_level=5, sub_level=0)

    [result] = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT]}, format="json").json()["results"]

    assert (result["sent"], result["suppressed"]) == (1, 1)
    assert result["examples"][0]["item"]["main_level"] == 8


def test_it_stores_and_sends_nothing(api: APIClient, app: App) -> None:
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    _store(app, [(IFA, {"level": 3})])
    before = (Delivery.objects.count(), DeviceLevel.objects.get().main_level, TrackedEvent.objects.count(),
              Mapping.objects.count())

    with CaptureQueriesContext(connection) as queries:
        api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [{**DRAFT, "event_field": 3}]}, format="json")

    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(
        ("INSERT", "UPDATE", "DELETE"))]
    # The API key's last use and its rate limit's count are all that is written.
    assert [sql for sql in writes if "accounts_apikey" not in sql and "trackerui_ratecounter" not in sql] == []
    after = (Delivery.objects.count(), DeviceLevel.objects.get().main_level, TrackedEvent.objects.count(),
             Mapping.objects.count())
    assert before == after


def test_only_the_last_days_are_read(api: APIClient, app: App) -> None:
    _store(app, [(IFA, {"level": 1})], ago=3 * 86400)
    _store(app, [(IFA, {"level": 2})], ago=3600)

    [one_day] = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT], "days": 1},
                         format="json").json()["results"]
    [week] = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT], "days": 7},
                      format="json").json()["results"]

    assert (one_day["matched"], week["matched"]) == (1, 2)


def test_opted_out_events_are_counted_as_blocked(api: APIClient, app: App) -> None:
    _store(app, [(IFA, {"level": 1})], limit_ad_tracking=True)

    [result] = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT]}, format="json").json()["results"]

    assert (result["sent"], result["blocked"]) == (0, 1)


def test_a_draft_breaking_a_mapping_rule_is_a_400_with_the_rules_message(api: APIClient, app: App) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/simulate/",
                        {"mappings": [{**DRAFT, "event_field": 2}], "days": 1}, format="json")

    assert response.status_code == 400
    [error] = response.json()["mappings"]
    assert error.startswith("Draft 1, main_level_property:") and "cannot read a level property" in error


def test_days_outside_1_to_30_is_a_400(api: APIClient, app: App) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/simulate/", {"mappings": [DRAFT], "days": 31}, format="json")

    assert response.status_code == 400 and "days" in response.json()


def test_another_organizations_app_is_a_404(api: APIClient, other_app: App) -> None:
    assert api.post(f"/api/v1/apps/{other_app.pk}/simulate/", {"mappings": [DRAFT]},
                    format="json").status_code == 404


FORM = {"event_name": "level_complete", "event_field": "1", "event_label": "", "main_level_property": "level",
        "main_level_value": "1", "sub_level_property": "", "sub_level_value": "0", "description_property": "",
        "description": "", "active": "on", "simulate_days": "7"}


def test_the_form_tries_the_mapping_without_javascript_and_keeps_what_was_typed(
    signed_in_client: Client, app: App
) -> None:
    _store(app, [(IFA, {"level": 4})])

    response = signed_in_client.post(f"/apps/{app.pk}/mappings/simulate/", FORM)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-count="sent">1<' in html and "&quot;main_level&quot;: 4" in html
    assert 'value="level_complete"' in html and 'id="mapping-form"' in html
    assert not Mapping.objects.exists()


def test_with_htmx_it_answers_the_result_panel_alone(signed_in_client: Client, app: App) -> None:
    _store(app, [(IFA, {"level": 4}), (IFA, {"level": 0})])

    response = signed_in_client.post(f"/apps/{app.pk}/mappings/simulate/", FORM, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="simulate-result"')
    assert 'data-count="rejected">1<' in html and "properties.level" in html
