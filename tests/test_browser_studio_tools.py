"""The studio tools in real headless Chromium: copy mappings, "Try this mapping" (in place, with htmx),
backfill from the mapping page, and the Live events tab updating by itself."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from delivery.ingest.service import events_ingest
from delivery.models import Backfill
from mappings.models import App
from mappings.services import mapping_create
from tests.factories import AppFactory
from tests.page_helpers import browser_sign_in
from tests.test_browser_accessibility import FAILING_IMPACTS, axe_violations, describe

pytestmark = pytest.mark.browser


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical WCAG 2 A/AA violation in the page as it is now."""
    failing = [violation for violation in axe_violations(page) if violation["impact"] in FAILING_IMPACTS]
    assert not failing, describe(failing)

IFA = "6d92078a8246413bba8c18a3f1a9e3c4"


def _events(app: App, *levels: int, prefix: str = "e") -> None:
    now = int(time.time()) - 600
    events_ingest(app=app, events=[
        {"event_id": f"{prefix}-{n}", "name": "level_complete", "timestamp": now + n, "platform": "iOS 17.4",
         "identifiers": {"ifa": IFA}, "properties": {"level": level}}
        for n, level in enumerate(levels)
    ])


def test_mappings_are_copied_from_the_other_build_with_a_report(
    live_server: LiveServer, page: Page, member: User, app: App
) -> None:
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    mapping_create(app=app, event_name="tutorial_done", event_field=5)
    android = AppFactory(organization=app.organization, platform="android", name="Puzzle Android")
    mapping_create(app=android, event_name="stage_cleared", event_field=1, main_level_property="stage")
    browser_sign_in(page, live_server.url, member)

    page.goto(f"{live_server.url}/apps/{android.pk}/mappings/")
    page.get_by_role("link", name="Copy mappings…").click()
    page.get_by_label("Copy the mappings of").select_option(str(app.pk))
    page.get_by_role("button", name="Copy mappings").click()

    report = page.locator("#copy-report")
    expect(report.locator("tr[data-status=copied]")).to_have_count(1)
    expect(report.locator("tr[data-status=clashed]")).to_contain_text("already mapped to “stage_cleared”")
    assert set(android.mappings.values_list("event_name", flat=True)) == {"stage_cleared", "tutorial_done"}
    assert_accessible(page)


def test_try_this_mapping_shows_what_would_be_sent_in_place_and_saves_nothing(
    live_server: LiveServer, page: Page, member: User, app: App
) -> None:
    _events(app, 3, 2, 5)
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/mappings/new/?event_name=level_complete")
    page.fill("input[name=event_name]", "level_complete")
    page.locator("label[for=id_event_field_0]").click()
    page.fill("input[name=main_level_property]", "level")
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("button", name="Try this mapping").click()

    result = page.locator("#simulate-result")
    expect(result.locator("[data-count=sent]")).to_have_text("2")
    expect(result.locator("[data-count=suppressed]")).to_have_text("1")
    expect(result).to_contain_text('"main_level": 3')
    assert page.evaluate("window.stillTheSamePage") is True
    assert not app.mappings.exists()
    assert_accessible(page)


def test_a_backfill_from_the_mapping_page_says_how_many_it_queued(
    live_server: LiveServer, page: Page, member: User, app: App
) -> None:
    _events(app, 1, 2)
    mapping = mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/mappings/{mapping.pk}/edit/")

    page.locator("#mapping-backfill").get_by_role("button", name="Backfill").click()

    expect(page.locator("main")).to_contain_text("Backfill queued: 2 stored events")
    assert_accessible(page)
    assert Backfill.objects.get(app=app).count == 2


def test_live_events_arrive_without_a_reload(live_server: LiveServer, page: Page, member: User, app: App) -> None:
    mapping_create(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/")
    page.get_by_role("link", name="Live events").click()
    expect(page.locator("[data-empty=no-live-events]")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    _events(app, 4, prefix="live")
    events_ingest(app=app, events=[{"event_id": "bad", "name": "level_complete", "timestamp": int(time.time()),
                                    "platform": "iOS 17.4", "identifiers": {"ifa": IFA}, "properties": {}}])

    expect(page.locator("tr[data-event-id=live-0]")).to_have_attribute("data-outcome", "accepted", timeout=8000)
    expect(page.locator("tr[data-event-id=bad]")).to_contain_text("properties.level")
    assert page.evaluate("window.stillTheSamePage") is True
    assert_accessible(page)
