"""Issue 19 in real headless Chromium: an app whose game sent 21 events, 15 of them rejected, and
whose 6 deliveries all went through is not "healthy", neither on its overview nor on the apps list,
and both say what share of its events was rejected."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from mappings.models import App
from tests.factories import EventPayloadFactory, MappingFactory
from tests.live_receiver import run_queued_sends, sandbox_as_chartboost
from tests.page_helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_mostly_rejected_events_are_neither_healthy_nor_silent_on_the_badge_or_the_apps_list(
    live_server: LiveServer, page: Page, member: User, app: App, settings: Settings
) -> None:
    App.objects.filter(pk=app.pk).update(s2s_confirmed=True)
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    events_ingest(app=app, events=[EventPayloadFactory(name="level_up", properties={"level": level})
                                   for level in range(1, 7)])
    with sandbox_as_chartboost(settings):
        run_queued_sends()
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 6
    events_ingest(app=app, events=[EventPayloadFactory(timestamp=None) for _ in range(15)])

    browser_sign_in(page, live_server.url, member)
    row = page.locator("tbody tr", has_text=app.name)
    expect(row.locator("[data-health-level]")).to_have_text("failing")
    expect(row.locator("[data-stat=delivered]")).to_contain_text("6 delivered of 6 attempted in 24 h")
    expect(row.locator("[data-stat=rejected]")).to_contain_text("71.4 % rejected")
    expect(row.locator("[data-stat=rejected]")).to_contain_text("15 of 21 events received")

    page.goto(f"{live_server.url}/apps/{app.pk}/")
    badge = page.locator("#health [data-health]")
    expect(badge).not_to_have_text("healthy")
    expect(badge).to_have_text("failing")
    expect(page.locator("#health [data-stat=rejected]")).to_have_text("71.4 %")
    expect(page.locator("#problems [data-problem=rejected]")).to_contain_text("15 rejected")
