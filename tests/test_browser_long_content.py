"""Long content in real headless Chromium, at a laptop's and a phone's width: a 255-character event
name, a 16 KB example of properties and long reasons never make a page wider than the screen, and
the buttons of each row stay in view."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, EventNameFactory, MappingFactory
from tests.page_helpers import browser_sign_in

pytestmark = pytest.mark.browser

LONG_NAME = "level_" + "abcdefghij" * 24 + "_done_end"  # 255 characters, no space to break at
assert len(LONG_NAME) == 255
BIG_PROPERTIES = {f"property_{n:03}": "x" * 150 for n in range(100)}  # about 16 KB
LONG_REASON = ("Chartboost answered status 401 “" + "Invalid signature for this request " * 8
               + "”: check the app token")
WIDTHS = (1366, 390)


@pytest.fixture
def long_app(member: User) -> App:
    # 100 characters, the most an app name takes.
    app = AppFactory(organization=member.organizations.get(), name="Puzzle_" + "Quest" * 17 + "_iOS_123")
    EventNameFactory(app=app, name=LONG_NAME, count=12, example_properties=BIG_PROPERTIES)
    MappingFactory(app=app, event_name=LONG_NAME[:-3] + "map", event_field=1, event_label=LONG_NAME,
                   main_level_property=LONG_NAME, description="d" * 255)
    for n in range(3):
        DeliveryFactory(event__app=app, event__name=LONG_NAME, event__event_id=f"evt-{n}" + "9" * 123,
                        event__properties=BIG_PROPERTIES, status=Delivery.Status.FAILED, reason=LONG_REASON)
    return app


def no_wider_than_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than the screen"


def in_view_without_scrolling_sideways(element: Locator) -> None:
    """The element lies within the screen's width and within any box that scrolls it sideways."""
    hidden = element.evaluate("""element => {
        const box = element.getBoundingClientRect();
        if (box.width === 0 || box.left < 0 || box.right > window.innerWidth) { return "off the screen"; }
        for (let parent = element.parentElement; parent; parent = parent.parentElement) {
            const style = getComputedStyle(parent);
            if (style.overflowX !== "visible") {
                const frame = parent.getBoundingClientRect();
                if (box.left < frame.left || box.right > frame.right + 1) { return "scrolled off in its box"; }
            }
        }
        return "";
    }""")
    assert hidden == "", hidden


@pytest.mark.parametrize("width", WIDTHS)
def test_a_255_character_event_name_keeps_every_page_on_the_screen_and_map_it_in_view(
    live_server: LiveServer, browser: Browser, member: User, long_app: App, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{long_app.pk}/mappings/")
        no_wider_than_the_screen(page)
        row = page.locator("#unmapped-events tbody tr").first
        map_it = row.get_by_role("link", name="Map it")
        expect(map_it).to_be_visible()
        in_view_without_scrolling_sideways(map_it)
        for button in page.locator("#mappings .row-actions a").all():
            in_view_without_scrolling_sideways(button)

        map_it.click()
        expect(page.locator("input[name=event_name]")).to_have_value(LONG_NAME)
        no_wider_than_the_screen(page)
        in_view_without_scrolling_sideways(page.get_by_role("button", name="Add mapping"))

        for path in (f"/apps/{long_app.pk}/", f"/apps/{long_app.pk}/deliveries/", "/apps/",
                     f"/deliveries/?event_id=evt-0{'9' * 123}",
                     f"/apps/{long_app.pk}/mappings/{long_app.mappings.get().pk}/edit/",
                     f"/deliveries/{long_app.deliveries.first().pk}/"):
            page.goto(live_server.url + path)
            no_wider_than_the_screen(page)
    finally:
        context.close()
