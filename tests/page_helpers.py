"""Reading the dashboard's HTML in page tests (what is shown next to which field), and signing in
in the browser tests."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test.client import Client
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def field_block(html: str, name: str) -> str:
    """The HTML of one form field's block (label, input, its errors and help).

    Templates wrap each field in an element with id="field-<name>"; the block runs to
    the next field's block, so a message found here is shown next to that field.
    """
    start = html.find(f'id="field-{name}"')
    assert start != -1, f"the page has no field {name!r}"
    following = re.compile(r'id="field-[a-z_]+"').search(html, start + 1)
    return html[start:following.start() if following else len(html)]


def field_errors(html: str, name: str) -> str:
    """The text of the error list shown under one field (empty when it has none)."""
    block = field_block(html, name)
    match = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', block, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


def history_row(html: str, day: str) -> list[str]:
    """The cells of the per-day history table's row for one day (or "total"), as text."""
    start = html.index(f'data-day="{day}"')
    row = html[start:html.index("</tr>", start)]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def unescape(text: str) -> str:
    """Undo Django's HTML escaping of quotes, so messages compare as written."""
    return text.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


def page_text(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, f"{path} answered {response.status_code}"
    return response.content.decode()


def browser_sign_in(page: Page, base_url: str, user: User) -> None:
    """Sign in through the dashboard's form, as a customer does, and land on the apps list."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base_url}/apps/")
