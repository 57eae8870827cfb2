"""Support staff in the admin, in real headless Chromium: find a customer's delivery by the device
id the customer pasted, and send the failed ones again with the bulk action."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from mappings.models import App
from tests.factories import PASSWORD, DeliveryFactory, UserFactory

DEVICE = "6d3c4b5a-1f2e-4d3c-9b8a-7f6e5d4c3b2a"


@pytest.mark.browser
def test_a_staff_user_finds_deliveries_by_device_and_bulk_retries_the_failed_ones(
    live_server: LiveServer, page: Page, app: App
) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    failed = [
        DeliveryFactory(event__app=app, device=DEVICE, status=Delivery.Status.FAILED, event__event_id=f"evt-{n}",
                        reason="Chartboost answered status 401 “Invalid signature”: check the app token")
        for n in range(2)
    ]
    delivered = DeliveryFactory(event__app=app, device=DEVICE, status=Delivery.Status.DELIVERED)
    other_device = DeliveryFactory(event__app=app, status=Delivery.Status.FAILED)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/delivery/delivery/")

    # Pasted the way a support ticket quotes it: uppercase, in the middle of spaces.
    page.fill("#searchbar", f"  {DEVICE.upper()} ")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#result_list")).not_to_contain_text(str(other_device.event.event_id))

    page.check("#action-toggle")
    page.select_option("select[name=action]", "retry_failed")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text(
        "Queued 2 failed deliveries to be sent again. Skipped 1 that was not failed."
    )

    for delivery in failed:
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING
    delivered.refresh_from_db()
    other_device.refresh_from_db()
    assert delivered.status == Delivery.Status.DELIVERED
    assert other_device.status == Delivery.Status.FAILED
