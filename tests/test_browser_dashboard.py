"""The dashboard in real headless Chromium: sign in, add an app, map an event and override its
label, be refused a second mapping on the same Event ID, sign out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from mappings.models import App
from tests.factories import PASSWORD, AppFactory, EventNameFactory
from tests.page_helpers import browser_sign_in


@pytest.mark.browser
def test_a_customer_maps_an_event_and_is_refused_a_second_mapping_on_its_event_id(
    live_server: LiveServer, page: Page, member: User
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{live_server.url}/apps/")

    page.click("text=Add your first app")
    page.fill("input[name=name]", "Puzzle Quest (iOS)")
    page.select_option("select[name=platform]", "ios")
    page.fill("input[name=chartboost_app_id]", "4f7aa26ef77659d869000003")
    page.fill("input[name=chartboost_app_token]", "0123456789abcdef" * 4)
    page.click("button:has-text('Add app')")
    expect(page.locator("h1")).to_have_text("Puzzle Quest (iOS)")
    app = App.objects.get()
    page.locator("nav.tabs").get_by_role("link", name="Settings").click()
    expect(page.locator("#credentials")).to_contain_text(app.chartboost_app_token_hint)

    page.locator("nav.tabs").get_by_role("link", name="Overview").click()
    page.click("text=Add your first mapping")
    page.fill("input[name=event_name]", "level_complete")
    expect(page.locator("[data-label-sent]")).to_have_text("Label sent: level_complete (default)")
    page.check("input[name=event_field][value='1']")
    page.fill("input[name=main_level_property]", "level")
    page.click("button:has-text('Add mapping')")
    expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/mappings/")
    row = page.locator("#mappings tbody tr", has_text="level_complete")
    expect(row).to_contain_text("level_complete default")

    row.locator("text=Edit").click()
    page.fill("input[name=event_label]", "Highest level completed")
    expect(page.locator("[data-label-sent]")).to_have_text("Label sent: Highest level completed (custom)")
    page.click("button:has-text('Save mapping')")
    expect(page.locator("#mappings tbody tr", has_text="level_complete")).to_contain_text(
        "Highest level completed custom"
    )
    assert app.mappings.get().label == "Highest level completed"

    page.click("text=Add a mapping")
    page.fill("input[name=event_name]", "boss_defeated")
    # Event IDs 2 and 5 take no level properties, so their inputs hide.
    page.check("input[name=event_field][value='2']")
    expect(page.locator("#level-fields")).to_be_hidden()
    page.check("input[name=event_field][value='1']")
    expect(page.locator("#level-fields")).to_be_visible()
    page.click("button:has-text('Add mapping')")
    expect(page.locator("#field-event_field .errorlist")).to_contain_text(
        "Event ID 1 is already mapped to “level_complete” in this app."
    )
    assert app.mappings.count() == 1

    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/apps/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/apps/")


@pytest.mark.browser
def test_map_it_preselects_no_event_id_and_asks_for_one(live_server: LiveServer, page: Page, member: User) -> None:
    app = AppFactory(organization=member.organizations.get())
    EventNameFactory(app=app, name="shop_opened")
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/mappings/")
    page.locator("#unmapped-events tr", has_text="shop_opened").get_by_role("link", name="Map it").click()
    expect(page.locator("input[name=event_name]")).to_have_value("shop_opened")
    expect(page.locator("input[name=event_field]:checked")).to_have_count(0)

    # One click on the button maps nothing: the user has not picked what the event is.
    page.click("button:has-text('Add mapping')")
    expect(page.locator("#field-event_field .errorlist")).to_have_text("Pick the Event ID this event is sent as.")
    expect(page.locator("input[name=event_name]")).to_have_value("shop_opened")
    assert not app.mappings.exists()

    page.check("input[name=event_field][value='5']")
    page.click("button:has-text('Add mapping')")
    expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/mappings/")
    assert app.mappings.get().event_field == 5
