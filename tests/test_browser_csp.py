"""The Content-Security-Policy in real headless Chromium: the app page and the API docs render with
nothing refused (no inline script or style of ours, Swagger UI's initialiser loaded as a file)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from mappings.models import App
from tests.page_helpers import browser_sign_in


def _csp_violations(page: Page) -> list[str]:
    """Chromium reports each thing the CSP refused on the console, naming the policy."""
    violations: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", collect)
    return violations


@pytest.mark.browser
def test_the_app_page_and_its_chart_render_with_nothing_refused(live_server: LiveServer, page: Page,
                                                                 member: User, app: App) -> None:
    violations = _csp_violations(page)
    browser_sign_in(page, live_server.url, member)
    page.goto(f"{live_server.url}/apps/{app.pk}/")
    expect(page.locator("h1")).to_contain_text(app.name)
    expect(page.locator(".history-chart svg").first).to_be_visible()
    # Our stylesheet for the chart loaded: its legend is laid out as a row.
    assert page.locator(".chart-legend").evaluate("element => getComputedStyle(element).display") == "flex"
    # htmx loaded with its CSP-safe settings, and the live numbers refresh with nothing refused.
    assert page.evaluate("[htmx.config.allowEval, htmx.config.includeIndicatorStyles]") == [False, False]
    with page.expect_response(lambda response: response.request.headers.get("hx-request") == "true",
                              timeout=15_000):
        pass
    for path in ("mappings/", "deliveries/", "settings/"):
        page.goto(f"{live_server.url}/apps/{app.pk}/{path}")
        expect(page.locator("nav.tabs [aria-current=page]")).to_be_visible()
    assert violations == []


@pytest.mark.browser
def test_the_api_docs_render_swagger_ui_with_nothing_refused(live_server: LiveServer, page: Page,
                                                              db: None) -> None:
    violations = _csp_violations(page)
    page.goto(f"{live_server.url}/api/docs/")
    # The initialiser ran (it is what builds the UI) and fetched the schema.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CB Tracker API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []
    # A way back to the dashboard (signed out, it leads to sign in).
    page.get_by_role("link", name="Back to the dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
