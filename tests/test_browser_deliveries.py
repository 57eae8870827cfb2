"""The delivery pages in real headless Chromium: send a test event from the app's Settings tab against a
local Chartboost stand-in and read its answer, then open the deliveries list and one delivery."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from mappings.models import App
from tests.factories import PASSWORD, AttemptFactory, DeliveryFactory, MappingFactory
from tests.live_receiver import sandbox_as_chartboost


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

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
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
