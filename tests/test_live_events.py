"""The Live events tab (`/apps/{id}/live/`) and the ring of recent ingest outcomes behind it
(delivery/history/live.py)."""

from __future__ import annotations

import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from delivery.ingest.service import events_ingest
from delivery.models import IngestOutcome
from mappings.models import App
from mappings.services import mapping_create
from tests.factories import AppFactory

IFA = "6d92078a8246413bba8c18a3f1a9e3c4"


def _event(event_id: str, name: str = "level_complete", **extra: object) -> dict[str, object]:
    return {"event_id": event_id, "name": name, "timestamp": int(time.time()) - 5, "platform": "iOS 17.4",
            "identifiers": {"ifa": IFA}, "properties": {"level": 3}, **extra}


def _mixed_batch(app: App) -> None:
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    events_ingest(app=app, events=[_event("first")])
    events_ingest(app=app, events=[
        _event("first"),  # duplicate
        _event("tutorial", name="tutorial_done"),  # unmapped
        _event("no-level", properties={}),  # rejected by the mapping
        _event("bad-time", timestamp=-1),  # rejected by the checks
        _event("second", properties={"level": 7}),  # accepted
    ])


def test_it_shows_each_recent_event_with_what_became_of_it(signed_in_client: Client, app: App) -> None:
    _mixed_batch(app)

    html = signed_in_client.get(f"/apps/{app.pk}/live/").content.decode()

    assert 'data-outcome="duplicate" data-event-id="first"' in html
    assert 'data-outcome="unmapped" data-event-id="tutorial"' in html
    assert 'data-outcome="rejected" data-event-id="no-level"' in html and "properties.level" in html
    assert 'data-outcome="rejected" data-event-id="bad-time"' in html and "timestamp" in html
    assert 'data-outcome="accepted" data-event-id="second"' in html and "Event ID 1" in html
    assert html.index('data-event-id="second"') < html.index('data-event-id="tutorial"')  # newest first
    assert "Live events" in html and f'href="/apps/{app.pk}/live/"' in html  # the tab, and the Refresh link


def test_htmx_polls_get_the_partial_alone(signed_in_client: Client, app: App) -> None:
    _mixed_batch(app)

    response = signed_in_client.get(f"/apps/{app.pk}/live/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith("{#") is False and '<section class="card" id="live-events"' in html
    assert "<html" not in html and 'hx-trigger="every 2s, live-refresh"' in html
    assert "HX-Request" in response["Vary"]


def test_the_page_reads_a_bounded_window_in_a_constant_number_of_queries(signed_in_client: Client, app: App) -> None:
    _mixed_batch(app)
    signed_in_client.get(f"/apps/{app.pk}/live/")
    with CaptureQueriesContext(connection) as few:
        signed_in_client.get(f"/apps/{app.pk}/live/", HTTP_HX_REQUEST="true")
    for n in range(30):
        events_ingest(app=app, events=[_event(f"more-{n}")])
    with CaptureQueriesContext(connection) as many:
        signed_in_client.get(f"/apps/{app.pk}/live/", HTTP_HX_REQUEST="true")

    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_ring_keeps_the_last_n_outcomes_per_app(settings: Settings, app: App) -> None:
    settings.LIVE_EVENTS_KEPT = 10
    other = AppFactory()
    events_ingest(app=other, events=[_event("other")])
    for n in range(3):
        events_ingest(app=app, events=[_event(f"batch{n}-{k}") for k in range(6)])

    kept = list(IngestOutcome.objects.filter(app=app).order_by("id").values_list("event_id", flat=True))
    assert kept == [f"batch1-{k}" for k in range(2, 6)] + [f"batch2-{k}" for k in range(6)]
    assert IngestOutcome.objects.filter(app=other).count() == 1


def test_a_rejected_events_control_characters_are_kept_out(signed_in_client: Client, app: App) -> None:
    events_ingest(app=app, events=[_event("nul\x00id", name="bad\x00name")])

    outcome = IngestOutcome.objects.get(app=app)
    assert outcome.status == "rejected" and "\x00" not in outcome.event_id + outcome.name
    assert signed_in_client.get(f"/apps/{app.pk}/live/").status_code == 200


def test_another_organizations_app_is_a_404(signed_in_client: Client, other_app: App) -> None:
    assert signed_in_client.get(f"/apps/{other_app.pk}/live/").status_code == 404
