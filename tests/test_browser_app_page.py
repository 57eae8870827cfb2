"""An app's pages in real headless Chromium: a retried delivery turns `delivered` in place (sent to the
local Chartboost sandbox), recover with a preset shows its count where the user looks (with and without
JavaScript), and times show in the browser's local time with UTC in the tooltip."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from mappings.models import App
from tests.factories import DeliveryFactory, EventPayloadFactory, MappingFactory
from tests.live_receiver import run_queued_sends, sandbox_as_chartboost, wait_until
from tests.page_helpers import browser_sign_in

pytestmark = pytest.mark.browser




def _failed_delivery(app: App, settings: Settings) -> Delivery:
    """A delivery that really failed: Chartboost (the sandbox) refused it."""
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    events_ingest(app=app, events=[EventPayloadFactory(name="level_up", properties={"level": 3})])
    with sandbox_as_chartboost(settings, reject_rate=1.0):
        assert run_queued_sends() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    return delivery


def test_a_failed_delivery_found_from_the_overview_is_retried_and_turns_delivered_without_a_reload(
    live_server: LiveServer, page: Page, member: User, app: App, settings: Settings
) -> None:
    delivery = _failed_delivery(app, settings)
    browser_sign_in(page, live_server.url, member)
    # Found from the overview's problems, then the failed list, where the reason shows.
    page.goto(f"{live_server.url}/apps/{app.pk}/")
    page.locator("[data-problem=failed]").get_by_role("link").click()
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link").first.click()
    expect(page).to_have_url(f"{live_server.url}/deliveries/{delivery.pk}/")
    expect(page.locator("main")).to_contain_text(delivery.reason)
    status = page.locator("#delivery-status")
    expect(status).to_have_attribute("data-status", "failed")
    # Gone if the page reloads.
    page.evaluate("window.stillTheSamePage = true")

    with sandbox_as_chartboost(settings) as sandbox:
        status.get_by_role("button", name="Retry").click()
        expect(status).to_contain_text("Sent again")
        expect(status).to_have_attribute("data-status", "pending")
        # A worker picks it up, as qcluster would, and Chartboost accepts it.
        assert wait_until(lambda: run_queued_sends() == 1, timeout=5)
        assert len(sandbox.received) == 1

    expect(status).to_have_attribute("data-status", "delivered", timeout=5_000)
    expect(status.locator(".badge").first).to_have_text("delivered")
    expect(page.locator("#attempts article")).to_have_count(2)
    expect(page.locator("#attempt-2")).to_contain_text("delivered")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url == f"{live_server.url}/deliveries/{delivery.pk}/"


def _two_failed_deliveries(app: App) -> None:
    for hours in (2, 5):
        DeliveryFactory(event__app=app, status=Delivery.Status.FAILED,
                        created_at=datetime.now(tz=UTC) - timedelta(hours=hours))
    DeliveryFactory(event__app=app, status=Delivery.Status.FAILED,
                    created_at=datetime.now(tz=UTC) - timedelta(days=3))


def test_recover_with_a_preset_shows_the_count_in_place(live_server: LiveServer, page: Page, member: User,
                                                        app: App) -> None:
    _two_failed_deliveries(app)
    browser_sign_in(page, live_server.url, member)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
    page.evaluate("window.stillTheSamePage = true")

    recover = page.locator("#recover")
    recover.get_by_role("link", name="24 h").click()
    # The preset filled the input with that time ago, in UTC, instead of loading a page.
    expect(recover.locator("input[name=since]")).to_have_value(
        re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$"))
    recover.get_by_role("button", name="Send failed ones again").click()

    result = page.locator("#recover-result")
    expect(result).to_contain_text("Queued 2 failed deliveries since")
    expect(result).to_be_in_viewport()
    assert page.evaluate("window.stillTheSamePage") is True
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2


def test_recover_with_a_preset_works_without_javascript(live_server: LiveServer, browser: Browser, member: User,
                                                        app: App) -> None:
    _two_failed_deliveries(app)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
        page.locator("#recover").get_by_role("link", name="7 d").click()
        expect(page.locator("#recover input[name=since]")).to_have_value("7d")
        page.locator("#recover").get_by_role("button", name="Send failed ones again").click()

        expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/deliveries/")
        message = page.locator(".messages")
        expect(message).to_contain_text("Queued 3 failed deliveries since")
        expect(message).to_be_in_viewport()
    finally:
        context.close()


def _five_refused_deliveries(app: App, settings: Settings) -> None:
    """Five deliveries that really failed: Chartboost (the sandbox) refused them."""
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    events_ingest(app=app, events=[EventPayloadFactory(name="level_up", properties={"level": level})
                                   for level in range(1, 6)])
    with sandbox_as_chartboost(settings, reject_rate=1.0):
        assert run_queued_sends() >= 1
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 5


def test_after_recover_the_rows_show_their_new_status_without_a_reload(
    live_server: LiveServer, page: Page, member: User, app: App, settings: Settings
) -> None:
    _five_refused_deliveries(app, settings)
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
    badges = page.locator("table.deliveries tbody .badge")
    expect(badges.filter(has_text="failed")).to_have_count(5)
    page.evaluate("window.stillTheSamePage = true")

    with sandbox_as_chartboost(settings) as sandbox:
        page.locator("#recover").get_by_role("button", name="Send failed ones again").click()
        expect(page.locator("#recover-result")).to_contain_text("Queued 5 failed deliveries")
        # The rows under the form say so too, not "failed" until a reload.
        expect(badges.filter(has_text="failed")).to_have_count(0)
        expect(badges.filter(has_text="pending")).to_have_count(5)
        assert wait_until(lambda: run_queued_sends() >= 1, timeout=5)
        assert len(sandbox.received) == 5
    expect(badges.filter(has_text="delivered")).to_have_count(5, timeout=5_000)
    assert page.evaluate("window.stillTheSamePage") is True


def test_after_recover_without_javascript_the_list_keeps_its_filters_and_shows_the_new_status(
    live_server: LiveServer, browser: Browser, member: User, app: App, settings: Settings
) -> None:
    _five_refused_deliveries(app, settings)
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/?event_field=1")
        page.locator("#recover").get_by_role("button", name="Send failed ones again").click()
        expect(page).to_have_url(f"{live_server.url}/apps/{app.pk}/deliveries/?event_field=1")
        expect(page.locator(".messages")).to_contain_text("Queued 5 failed deliveries")
        badges = page.locator("table.deliveries tbody .badge")
        expect(badges.filter(has_text="pending")).to_have_count(5)
        expect(badges.filter(has_text="failed")).to_have_count(0)
    finally:
        context.close()


def test_a_time_field_shows_one_time_in_local_time_with_its_zone_and_sends_utc(
    live_server: LiveServer, browser: Browser, member: User, app: App
) -> None:
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
        recover = page.locator("#field-recover-since")
        # One time shown: the picker, in local time, its zone in the label; the UTC text is what is sent.
        expect(recover.locator("input:visible")).to_have_count(1)
        expect(recover.locator("label")).to_contain_text("(your time, GMT+9)")
        picker = page.get_by_label("Failed deliveries created since")
        expect(picker).to_have_attribute("type", "datetime-local")
        picker.fill("2026-12-05T09:00")
        expect(page.locator("#recover-since")).to_have_value("2026-12-05T00:00Z")

        since = page.locator("#field-since")
        expect(since.locator("input:visible")).to_have_count(1)
        since.get_by_label("Since").fill("2026-12-01T07:35")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"since=2026-11-30T22%3A35Z"))
        expect(page.locator("#field-since input:visible")).to_have_value("2026-12-01T07:35")

        # Who types gets the text input back, in UTC, where "24h" works too.
        recover.get_by_role("button", name="Type a time instead").click()
        expect(recover.locator("input:visible")).to_have_count(1)
        expect(recover.locator("label")).to_contain_text("(UTC, or 24h for a span ago)")
        expect(page.get_by_label("Failed deliveries created since")).to_have_attribute("type", "text")
    finally:
        context.close()


def test_without_javascript_a_time_field_is_one_text_input_labelled_utc(live_server: LiveServer, browser: Browser,
                                                                       member: User, app: App) -> None:
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
        for field in ("#field-recover-since", "#field-since", "#field-until"):
            expect(page.locator(f"{field} input:visible")).to_have_count(1)
            expect(page.locator(f"{field} label")).to_contain_text("(UTC)")
    finally:
        context.close()


def test_times_show_in_the_browsers_local_time_with_utc_in_the_tooltip(live_server: LiveServer, browser: Browser,
                                                                        member: User, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, created_at=datetime(2026, 12, 1, 22, 35, 3, tzinfo=UTC),
                               status=Delivery.Status.RETRYING,
                               next_attempt_at=datetime.now(tz=UTC) + timedelta(seconds=30))
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        polls: list[str] = []
        page.on("request", lambda request: polls.append(request.url) if "?poll=" in request.url else None)
        page.goto(f"{live_server.url}/deliveries/{delivery.pk}/")
        created = page.locator('time[datetime="2026-12-01T22:35:03Z"]').first
        expect(created).to_have_text("2026-12-02 07:35:03 GMT+9")
        expect(created).to_have_attribute("title", "2026-12-01 22:35:03 UTC")
        # "Next attempt in 30 s", kept true as time passes.
        next_attempt = page.locator("time[data-relative]").first
        expect(next_attempt).to_have_text(re.compile(r"^in (2\d|30) s$"))
        first = next_attempt.text_content()
        expect(next_attempt).not_to_have_text(first, timeout=3_000)
        # Due in 30 s, so the status panel does not ask for itself meanwhile; the clock ticks alone.
        assert polls == []
    finally:
        context.close()


def test_a_next_attempt_whose_time_has_come_says_due_now_not_seconds_ago(live_server: LiveServer, page: Page,
                                                                          member: User, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.PENDING,
                               next_attempt_at=datetime.now(tz=UTC) - timedelta(seconds=2))
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/deliveries/{delivery.pk}/")
    expect(page.locator("#delivery-status time[data-due]")).to_have_text("due now")
    page.goto(f"{live_server.url}/apps/{app.pk}/deliveries/")
    expect(page.locator("table.deliveries time[data-due]")).to_have_text("due now")


def test_the_history_charts_labels_stay_readable_on_a_phone(live_server: LiveServer, browser: Browser,
                                                            member: User, app: App) -> None:
    DeliveryFactory(event__app=app, status=Delivery.Status.DELIVERED)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, member)
        page.goto(f"{live_server.url}/apps/{app.pk}/")
        heights = page.locator(".history-chart-plot text").evaluate_all(
            "texts => texts.map(text => text.getBoundingClientRect().height)")
        assert heights and min(heights) >= 10, heights
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    finally:
        context.close()
