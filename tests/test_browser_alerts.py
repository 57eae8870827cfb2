"""The alerts page in real headless Chromium: add a webhook channel, see its secret once, send a test alert and
read what the channel answered."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer
from standardwebhooks import Webhook

from tests.alert_receiver import AlertReceiver
from tests.page_helpers import browser_sign_in


@pytest.mark.browser
def test_an_owner_adds_a_webhook_sees_its_secret_once_and_sends_a_test_alert(
    live_server: LiveServer, page: Page, member: User, settings: Settings
) -> None:
    settings.DEBUG = True  # the receiver listens on loopback, allowed in local development only
    with AlertReceiver(answer="thanks") as receiver:
        browser_sign_in(page, live_server.url, member)
        page.locator("nav.mainnav").get_by_role("link", name="Alerts").click()
        expect(page.locator("h1")).to_have_text("Alerts")
        page.select_option("select[name=kind]", "webhook")
        page.fill("input[name=target]", receiver.url)
        page.click("button:has-text('Add channel')")

        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        page.click("text=I have stored it: back to alerts")
        expect(page.locator("#alert-channels")).to_contain_text(receiver.url)
        assert secret not in page.content()

        page.click("button:has-text('Send a test alert')")
        expect(page.locator(".messages")).to_contain_text("It answered: HTTP 200: thanks")
        expect(page.locator("#alerts-sent")).to_contain_text("Test alert")
        expect(page.locator("#alerts-sent")).to_contain_text("delivered")
        [request] = receiver.received
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "test"
