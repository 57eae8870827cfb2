"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django import Settings

from mappings.models import App
from tests.factories import PASSWORD, AppFactory, MembershipFactory, UserFactory
from trackerui.accounts.models import Membership, Organization

# Fixtures shared by a few test files live next to the helpers they use.
pytest_plugins = ["tests.api_helpers", "tests.live_receiver"]

# The fault suite takes minutes and runs on its own (`make faults`, and its own step of .ci/run).
collect_ignore = [] if os.environ.get("FAULTS_SIZE") else ["faults"]


@pytest.fixture
def member(db: None) -> User:
    """A user who belongs to one organization, as its owner (MembershipFactory's default role)."""
    return MembershipFactory().user


@pytest.fixture
def organization(member: User) -> Organization:
    return member.organizations.get()


@pytest.fixture
def signed_in_client(member: User) -> Client:
    client = Client()
    assert client.login(username=member.username, password=PASSWORD)
    return client


@pytest.fixture
def plain_member(organization: Organization) -> User:
    """A user with the member role in the `member` fixture's organization: no owner's rights."""
    return MembershipFactory(organization=organization, role=Membership.Role.MEMBER).user


@pytest.fixture
def plain_member_client(plain_member: User) -> Client:
    client = Client()
    client.force_login(plain_member)
    return client


@pytest.fixture
def staff_client(db: None) -> Client:
    """Support staff signed in to the admin."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def app(organization: Organization) -> App:
    return AppFactory(organization=organization)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    # The default hasher takes about a second per password on these 2-core machines;
    # tests check who may sign in, not how strongly passwords are stored.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright, shared by one module's browser tests."""
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread; Django refuses database access
        # from a thread with a running loop unless told it is safe, as it is here (one test thread).
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page for one test, waiting at most ten seconds for anything."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
