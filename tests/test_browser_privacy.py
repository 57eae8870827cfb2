"""Forgetting a device from the Privacy settings page, in real headless Chromium."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from delivery.models import TrackedEvent
from mappings.models import App
from tests.factories import DeliveryFactory
from tests.page_helpers import browser_sign_in

IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"


@pytest.mark.browser
def test_an_owner_forgets_a_device_after_confirming_and_sees_the_counts(
    live_server: LiveServer, page: Page, member: User, app: App
) -> None:
    DeliveryFactory(event__app=app, event__device=IFA.replace("-", "").lower())
    DeliveryFactory(event__app=app)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    browser_sign_in(page, live_server.url, member)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Privacy").click()
    expect(page.locator("h1")).to_have_text("Privacy")
    page.fill("input[name=ifa]", "not an ifa")
    page.click("button:has-text('Continue')")
    expect(page.locator("#field-ifa .errorlist")).to_contain_text("32 hexadecimal characters")

    page.fill("input[name=ifa]", IFA)
    page.click("button:has-text('Continue')")
    expect(page.locator("#forget-device")).to_contain_text(f"ifa {IFA}")
    assert TrackedEvent.objects.count() == 2
    page.click("button:has-text('Erase this device')")

    result = page.locator("#erasure-result")
    expect(result.locator("[data-count=tracked_events]")).to_have_text("1")
    expect(result.locator("[data-count=deliveries]")).to_have_text("1")
    assert IFA not in page.url and IFA.lower() not in page.content().lower()
    assert TrackedEvent.objects.count() == 1
    assert errors == []
