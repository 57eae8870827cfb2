"""What every page carries around its content: the product's name in the admin and a favicon."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.test import Client

FAVICON = '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">'


def test_the_dashboard_and_the_admin_link_our_favicon(client: Client, staff_client: Client) -> None:
    assert FAVICON in client.get("/accounts/login/").content.decode()
    assert FAVICON in staff_client.get("/admin/").content.decode()
    assert finders.find("img/favicon.svg")


def test_a_browser_asking_for_favicon_ico_is_sent_to_the_icon(client: Client, db: None) -> None:
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/img/favicon.svg")


def test_the_admin_carries_the_product_name(staff_client: Client) -> None:
    page = staff_client.get("/admin/").content.decode()
    assert '<a href="/admin/">CB Tracker admin</a>' in page
    assert "<title>Support: deliveries, apps and organizations | CB Tracker admin</title>" in page
    assert "Django administration" not in page
