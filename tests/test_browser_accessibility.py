"""Every main page passes axe-core's WCAG 2 A and AA rules in real headless Chromium, signed out and in.

axe-core comes from npm for the tests only (`make test` fetches it into tests/vendor/, which is
git-ignored and never served). A `serious` or `critical` violation fails the page's test, and
every violation found is printed with the elements it concerns. The pages show the demo data
of `make run` (mappings/management/commands/seed_demo.py) sent through the real pipeline to the
sandbox, so lists, charts and failed deliveries are on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from delivery.models import Delivery
from mappings.management.commands import seed_demo
from mappings.models import App
from tests.live_receiver import run_queued_sends, sandbox_as_chartboost

AXE_FILES = sorted(Path(__file__).parent.glob("vendor/axe-core-*.min.js"))
WCAG_2_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}
FAILING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class Demo:
    app: App  # every Event ID mapped, deliveries delivered
    failing_app: App  # an out-of-date token: failed deliveries
    delivered: Delivery
    failed: Delivery


@dataclass(frozen=True)
class Checked:
    name: str
    who: str  # "anonymous", "demo" (a customer) or "support" (staff)
    path: Callable[[Demo], str]


# One line per page. The API docs are Swagger UI's page, not ours: its look is the vendored
# library's, and our CSS does not reach it, so it is left out.
PAGES = [
    Checked("sign-in", "anonymous", lambda d: "/accounts/login/"),
    Checked("password-reset", "anonymous", lambda d: "/accounts/password_reset/"),
    Checked("password-reset-sent", "anonymous", lambda d: "/accounts/password_reset/done/"),
    Checked("apps", "demo", lambda d: "/apps/"),
    Checked("app", "demo", lambda d: f"/apps/{d.app.pk}/"),
    Checked("app-failing", "demo", lambda d: f"/apps/{d.failing_app.pk}/"),
    Checked("app-mappings", "demo", lambda d: f"/apps/{d.app.pk}/mappings/"),
    Checked("app-changes", "demo", lambda d: f"/apps/{d.app.pk}/changes/"),
    Checked("app-settings", "demo", lambda d: f"/apps/{d.failing_app.pk}/settings/"),
    Checked("app-delete", "demo", lambda d: f"/apps/{d.failing_app.pk}/delete/"),
    Checked("app-edit", "demo", lambda d: f"/apps/{d.app.pk}/edit/"),
    Checked("deliveries", "demo", lambda d: f"/apps/{d.app.pk}/deliveries/"),
    Checked("deliveries-failed", "demo", lambda d: f"/apps/{d.failing_app.pk}/deliveries/?status=failed"),
    Checked("delivery-search", "demo", lambda d: "/deliveries/"),
    Checked("delivery-search-found", "demo", lambda d: f"/deliveries/?device={d.failed.device}&status=failed"),
    Checked("delivery-delivered", "demo", lambda d: f"/deliveries/{d.delivered.pk}/"),
    Checked("delivery-failed", "demo", lambda d: f"/deliveries/{d.failed.pk}/"),
    Checked("mapping-new", "demo", lambda d: f"/apps/{d.failing_app.pk}/mappings/new/"),
    Checked("mapping-all-used", "demo", lambda d: f"/apps/{d.app.pk}/mappings/new/"),
    Checked("mapping-edit", "demo", lambda d: f"/apps/{d.app.pk}/mappings/{d.app.mappings.first().pk}/edit/"),
    Checked("mappings-copy", "demo", lambda d: f"/apps/{d.failing_app.pk}/mappings/copy/"),
    Checked("app-live", "demo", lambda d: f"/apps/{d.app.pk}/live/"),
    Checked("app-new", "demo", lambda d: "/apps/new/"),
    Checked("api-keys", "demo", lambda d: "/settings/api-keys/"),
    Checked("members", "demo", lambda d: "/settings/members/"),
    Checked("alerts", "demo", lambda d: "/settings/alerts/"),
    Checked("password-change", "demo", lambda d: "/accounts/password_change/"),
    Checked("admin-sign-in", "anonymous", lambda d: "/admin/login/"),
    Checked("admin-index", "support", lambda d: "/admin/"),
    Checked("admin-deliveries", "support", lambda d: "/admin/delivery/delivery/"),
    Checked("admin-delivery", "support", lambda d: f"/admin/delivery/delivery/{d.failed.pk}/change/"),
    Checked("admin-apps", "support", lambda d: "/admin/mappings/app/"),
    Checked("admin-history", "support", lambda d: f"/admin/delivery/delivery/history/{d.app.pk}/"),
    Checked("admin-app-audit-trail", "support", lambda d: f"/admin/mappings/app/{d.app.pk}/history/"),
]


@pytest.fixture
def demo(transactional_db: None, settings: Settings) -> Demo:
    call_command("seed_demo", stdout=StringIO())
    known_tokens = dict(pair.split(":") for pair in seed_demo.sandbox_args()[1::2])
    with sandbox_as_chartboost(settings, app_tokens=known_tokens):
        call_command("send_demo_events", "--rounds", "2", stdout=StringIO())
        while run_queued_sends():
            pass
    app = App.objects.get(name=seed_demo.APPS[0]["name"])
    failing_app = App.objects.get(name=seed_demo.STALE_TOKEN_APP)
    return Demo(app, failing_app, app.deliveries.filter(status=Delivery.Status.DELIVERED).first(),
                failing_app.deliveries.filter(status=Delivery.Status.FAILED).first())


def sign_in(page: Page, base: str, who: str) -> None:
    username, password, login = {
        "demo": (seed_demo.USERNAME, seed_demo.PASSWORD, "/accounts/login/"),
        "support": (seed_demo.STAFF_USERNAME, seed_demo.STAFF_PASSWORD, "/admin/login/"),
    }[who]
    page.goto(base + login)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"signing in as {username} failed"


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core in the page. Evaluated over the DevTools protocol, so the page's CSP does not apply."""
    assert AXE_FILES, "axe-core is missing from tests/vendor/: run `make axe` (part of `make test`)"
    page.evaluate(AXE_FILES[-1].read_text())
    return page.evaluate("options => axe.run(document, options).then(results => results.violations)", WCAG_2_A_AA)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        count = len(violation["nodes"])
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({count} elements)")
        for node in violation["nodes"][:8]:
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"    {json.dumps(node['target'])}: {summary[:220]}")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize("checked", PAGES, ids=[checked.name for checked in PAGES])
def test_the_page_has_no_serious_or_critical_wcag_2_aa_violation(
    checked: Checked, live_server: LiveServer, page: Page, demo: Demo
) -> None:
    if checked.who != "anonymous":
        sign_in(page, live_server.url, checked.who)
    response = page.goto(live_server.url + checked.path(demo))
    assert response is not None and response.status == 200
    violations = axe_violations(page)
    if violations:
        print(f"\naxe-core on {checked.path(demo)}:\n{describe(violations)}")
    failing = [violation for violation in violations if violation["impact"] in FAILING_IMPACTS]
    assert not failing, f"serious or critical WCAG 2 A/AA violations on {checked.path(demo)}:\n{describe(failing)}"
