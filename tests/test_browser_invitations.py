"""Membership by invitation in real headless Chromium: an owner invites a user of another
organization, nothing changes for her until she accepts, declining leaves her out, and accepting
makes her a member who keeps working in her own organization until she switches."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.factories import AppFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.page_helpers import browser_sign_in
from trackerui.accounts.models import Membership


def owner_invites(page: Page, base_url: str, invitee: str) -> None:
    page.goto(f"{base_url}/settings/members/")
    page.get_by_label("Username or e-mail").fill(invitee)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".messages")).to_contain_text(f"Invitation sent to {invitee}.")
    expect(page.locator("#invitations")).to_contain_text(invitee)


@pytest.mark.browser
def test_an_invited_user_joins_only_by_accepting_and_keeps_working_where_she_was(
    live_server: LiveServer, page: Page, browser: Browser
) -> None:
    base = live_server.url
    # The inviting organization's name sorts first: joining must not make it hers by name order.
    acme = OrganizationFactory(slug="acme", name="Acme Studio")
    zeta = OrganizationFactory(slug="zeta", name="Zeta Games")
    owner = MembershipFactory(organization=acme, user=UserFactory(username="olga")).user
    ana = MembershipFactory(organization=zeta, user=UserFactory(username="ana")).user
    acme_app = AppFactory(organization=acme, name="Acme secret game")
    AppFactory(organization=zeta, name="Zeta game")

    browser_sign_in(page, base, owner)
    owner_invites(page, base, "ana")

    # Ana, in her own browser: an invitation waits, and nothing of Acme is hers yet.
    ana_context = browser.new_context()
    ana_context.set_default_timeout(10_000)
    ana_page = ana_context.new_page()
    try:
        browser_sign_in(ana_page, base, ana)
        expect(ana_page.locator(".invitation-banner")).to_contain_text("You are invited to join an organization")
        expect(ana_page.locator("main")).to_contain_text("Zeta game")
        expect(ana_page.locator("main")).not_to_contain_text("Acme secret game")
        expect(ana_page.locator("#org-switch")).to_have_count(0)
        response = ana_page.goto(f"{base}/apps/{acme_app.pk}/")
        assert response is not None and response.status == 404
        assert not Membership.objects.filter(organization=acme, user=ana).exists()

        # She declines: still no member, and the banner is gone.
        ana_page.goto(f"{base}/apps/")
        ana_page.get_by_role("link", name="See and answer your invitations").click()
        expect(ana_page.locator("main")).to_contain_text("Acme Studio")
        ana_page.get_by_role("button", name="Decline invitation to Acme Studio").click()
        expect(ana_page.locator(".messages")).to_contain_text("You declined the invitation to Acme Studio")
        assert not Membership.objects.filter(organization=acme, user=ana).exists()
        ana_page.goto(f"{base}/apps/")
        expect(ana_page.locator(".invitation-banner")).to_have_count(0)
        expect(ana_page.locator("#org-switch")).to_have_count(0)

        # A second invitation, which she accepts.
        owner_invites(page, base, "ana")
        ana_page.reload()
        ana_page.get_by_role("link", name="See and answer your invitations").click()
        ana_page.get_by_role("button", name="Accept invitation to Acme Studio").click()
        expect(ana_page.locator(".messages")).to_contain_text(
            "You joined Acme Studio as a member. You are still working in Zeta Games")
        assert Membership.objects.get(organization=acme, user=ana).role == Membership.Role.MEMBER

        # Still working in Zeta Games, until she switches.
        ana_page.goto(f"{base}/apps/")
        expect(ana_page.locator("main")).to_contain_text("Zeta game")
        expect(ana_page.locator("main")).not_to_contain_text("Acme secret game")
        expect(ana_page.locator("#org-switch")).to_have_value(str(zeta.pk))
        ana_page.select_option("#org-switch", str(acme.pk))
        expect(ana_page.locator(".messages")).to_contain_text("You are now working in Acme Studio")
        expect(ana_page.locator("main")).to_contain_text("Acme secret game")
        expect(ana_page).to_have_url(re.compile(r"/apps/$"))
    finally:
        ana_context.close()

    # The owner sees her joined, and every step in the recent changes.
    page.goto(f"{base}/settings/members/")
    expect(page.locator("table").first).to_contain_text("ana")
    changes = page.locator("#recent-changes")
    expect(changes).to_contain_text("accepted")
    expect(changes).to_contain_text("declined")
