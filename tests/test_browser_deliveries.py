"""The delivery pages in real headless Chromium: send a test event from the app's Settings tab against a
local Chartboost stand-in and read its answer, then open the deliveries list and one delivery; export a
filtered list as CSV."""

from __future__ import annotations

import csv

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AttemptFactory, DeliveryFactory, MappingFactory
from tests.live_receiver import sandbox_as_chartboost
from tests.page_helpers import browser_sign_in


@pytest.mark.browser
def test_a_customer_sends_a_test_event_then_reads_the_deliveries_and_one_delivery(
    live_server: LiveServer, page: Page, member: User, app: App, settings: Settings
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    failed = DeliveryFactory(event__app=app, event__event_id="evt-refused", status=Delivery.Status.FAILED,
                             reason="Chartboost answered status 401 “Invalid signature”: check the app token",
                             attempt_count=1)
    AttemptFactory(delivery=failed, number=1, response_status=401, response_message="Invalid signature",
                   request_body={"token": app.chartboost_app_token_hint, "party": "CB Tracker"})
    DeliveryFactory(event__app=app, event__event_id="evt-fine", status=Delivery.Status.DELIVERED)

    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/settings/")

    with sandbox_as_chartboost(settings) as sandbox:
        page.click("button:has-text('Send test event')")
        result = page.locator("#test-event")
        expect(result).to_contain_text("Chartboost accepted the test event")
        assert len(sandbox.received) == 1
    expect(result).to_contain_text(f"POST {sandbox.url}")
    expect(result).to_contain_text(f'"token": "{app.chartboost_app_token_hint}"')
    expect(result).to_contain_text('"message": "Success"')
    assert app.chartboost_app_token not in page.content()

    page.locator("nav.tabs").get_by_role("link", name="Deliveries").click()
    expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/deliveries/")
    expect(page.locator("table.deliveries tbody tr")).to_have_count(2)
    page.select_option("select[name=status]", "failed")
    page.click("button:has-text('Filter')")
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("evt-refused")

    rows.get_by_role("link").first.click()
    expect(page).to_have_url(f"{live_server.url}/deliveries/{failed.pk}/")
    expect(page.locator("#attempts")).to_contain_text("Invalid signature")
    page.click("button:has-text('Retry')")
    expect(page.locator("#delivery-status")).to_contain_text("Sent again")
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.PENDING


@pytest.mark.browser
def test_a_customer_exports_the_filtered_deliveries_as_csv(live_server: LiveServer, page: Page, member: User,
                                                           app: App) -> None:
    for n in range(3):
        DeliveryFactory(event__app=app, event__event_id=f"evt-failed-{n}", status=Delivery.Status.FAILED,
                        event_field=2, reason="Chartboost answered status 401 “Invalid signature”")
    DeliveryFactory(event__app=app, event__event_id="=HYPERLINK(\"http://evil\")", status=Delivery.Status.FAILED)
    DeliveryFactory(event__app=app, event__event_id="evt-fine", status=Delivery.Status.DELIVERED)

    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
    page.select_option("select[name=status]", "failed")
    page.click("button:has-text('Filter')")
    expect(page.locator("table.deliveries tbody tr")).to_have_count(4)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as exported:
        rows = list(csv.reader(exported))
    assert rows[0] == ["created", "event_id", "event_name", "event_field", "status", "attempts", "last_attempt_at",
                       "chartboost_status", "chartboost_message", "reason", "device"]
    assert sorted(row[1] for row in rows[1:]) == ["'=HYPERLINK(\"http://evil\")", "evt-failed-0", "evt-failed-1",
                                                   "evt-failed-2"]
    assert {row[4] for row in rows[1:]} == {"failed"}
