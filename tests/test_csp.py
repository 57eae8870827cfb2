"""Every page's Content-Security-Policy (trackerui/settings.py, trackerui/foundation/api_docs.py): scripts and styles
from our own files only, no inline <script> and no style= anywhere but Swagger UI's own page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from mappings.models import App

NO_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle=", re.IGNORECASE)


def _policy(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def _dashboard_pages(app: App) -> list[str]:
    return ["/apps/", f"/apps/{app.pk}/", f"/apps/{app.pk}/deliveries/", "/settings/api-keys/", "/settings/alerts/"]


def _admin_pages(app: App) -> list[str]:
    return ["/admin/", reverse("admin:delivery_history_index"), reverse("admin:delivery_history", args=[app.pk])]


def _assert_strict(response: object, *, inline_styles: bool = False) -> None:
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["style-src"] == (["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"])
    html = response.content.decode()
    assert not NO_INLINE_SCRIPT.search(html), NO_INLINE_SCRIPT.search(html).group(0)
    if not inline_styles:
        assert not STYLE_ATTRIBUTE.search(html), STYLE_ATTRIBUTE.search(html).group(0)


def test_the_sign_in_and_password_pages_allow_only_our_own_scripts_and_styles(client: Client, db: None) -> None:
    for path in ("/accounts/login/", "/accounts/password_reset/"):
        _assert_strict(client.get(path))


def test_every_dashboard_page_allows_only_our_own_scripts_and_styles(signed_in_client: Client, app: App) -> None:
    for path in _dashboard_pages(app):
        _assert_strict(signed_in_client.get(path))


def test_the_admin_pages_allow_only_our_own_scripts_and_styles(staff_client: Client, app: App) -> None:
    for path in _admin_pages(app):
        _assert_strict(staff_client.get(path))


def test_the_api_docs_allow_inline_styles_but_still_only_our_own_scripts(client: Client, db: None) -> None:
    _assert_strict(client.get("/api/docs/"), inline_styles=True)


def test_the_api_docs_initialiser_is_a_script_of_our_own_origin(client: Client, db: None) -> None:
    response = client.get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/"])
def test_pages_may_not_be_framed(client: Client, db: None, path: str) -> None:
    assert client.get(path)["X-Frame-Options"] == "DENY"
