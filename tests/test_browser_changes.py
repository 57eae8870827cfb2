"""The Changes tab in real headless Chromium: an edit made a moment before is at the top of the
list, with who made it, from where, and the field before and after."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from mappings.models import App
from tests.page_helpers import browser_sign_in


@pytest.mark.browser
def test_the_changes_tab_shows_an_edit_made_a_moment_before(live_server: LiveServer, page: Page, member: User,
                                                            app: App) -> None:
    old_name = app.name
    browser_sign_in(page, live_server.url, member)

    page.goto(f"{live_server.url}/apps/{app.pk}/settings/")
    page.get_by_role("link", name="Edit app").first.click()
    page.fill("input[name=name]", "Space Miners (iOS build)")
    page.click("button:has-text('Save')")
    expect(page.locator(".messages")).to_be_visible()

    page.locator("nav.tabs").get_by_role("link", name="Changes").click()
    expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/changes/")
    newest = page.locator("table.changes tbody tr").first
    expect(newest).to_contain_text(member.username)
    expect(newest).to_contain_text("Dashboard")
    expect(newest).to_contain_text("changed")
    expect(newest.locator(".field-changes li")).to_have_text(f"name: {old_name} → Space Miners (iOS build)")
    # Our script showed the time in the browser's zone, with UTC kept in the tooltip.
    expect(newest.locator("time")).to_have_attribute("title", re.compile(r" UTC$"))
