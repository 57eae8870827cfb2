"""The search across apps page (/deliveries/)."""

from __future__ import annotations

import re

from django.test import Client

from delivery.models import Delivery
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.page_helpers import field_errors, page_text
from trackerui.accounts.models import Organization

Status = Delivery.Status
IFA = "b1c99c76f014428590cf3a5c99d9dfc6"
HINT = "Search by your event_id or a device"


def delivery_ids(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'<td data-label="Created"><a href="/deliveries/(\d+)/"', html)]


def test_a_first_visit_shows_the_form_and_a_hint_and_no_deliveries(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)

    html = page_text(signed_in_client, "/deliveries/")

    assert HINT in html
    assert delivery_ids(html) == []
    for name in ("event_id", "device", "app", "status", "event_field", "since", "until"):
        assert f'name="{name}"' in html, name
    assert field_errors(html, "event_id") == ""


def test_filters_without_your_event_id_or_a_device_list_nothing_and_say_why_next_to_the_field(
    signed_in_client: Client, app: App
) -> None:
    DeliveryFactory(event__app=app, status=Status.FAILED)

    html = page_text(signed_in_client, "/deliveries/?status=failed")

    assert delivery_ids(html) == []
    assert "Give your event_id or a device" in field_errors(html, "event_id")


def test_a_device_is_found_in_every_app_of_the_organization_with_its_app(
    signed_in_client: Client, app: App, organization: Organization
) -> None:
    second_app = AppFactory(organization=organization, name="Space Miner (Android)")
    mine = [DeliveryFactory(event=TrackedEventFactory(app=each, device=IFA)) for each in (app, second_app)]
    DeliveryFactory(event=TrackedEventFactory(app=AppFactory(), device=IFA))

    html = page_text(signed_in_client, "/deliveries/?device=B1C99C76-F014-4285-90CF-3A5C99D9DFC6")

    assert sorted(delivery_ids(html)) == sorted(d.pk for d in mine)
    assert "Space Miner (Android)" in html and f'href="/apps/{second_app.pk}/deliveries/"' in html
    assert HINT not in html


def test_the_app_choice_lists_only_the_organizations_apps(signed_in_client: Client, app: App) -> None:
    stranger = AppFactory(name="Someone Else's Game")
    DeliveryFactory(event__app=stranger, event__event_id="order-42")

    html = page_text(signed_in_client, f"/deliveries/?event_id=order-42&app={stranger.pk}")

    assert app.name in html and "Someone Else" not in html
    assert "No such app in your organization." in field_errors(html, "app")
    assert delivery_ids(html) == []


def test_a_bad_filter_shows_its_error_and_the_search_still_runs(signed_in_client: Client, app: App) -> None:
    found = DeliveryFactory(event__app=app, event__event_id="order-42")

    html = page_text(signed_in_client, "/deliveries/?event_id=order-42&event_field=9")

    assert "Chartboost Event ID must be 1, 2, 3, 4 or 5." in field_errors(html, "event_field")
    assert delivery_ids(html) == [found.pk]


def test_a_search_that_finds_nothing_says_so(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, "/deliveries/?event_id=nothing-like-it")
    assert "No deliveries match" in html


def test_a_member_may_search(plain_member_client: Client, app: App) -> None:
    found = DeliveryFactory(event__app=app, event__event_id="order-42")
    assert delivery_ids(page_text(plain_member_client, "/deliveries/?event_id=order-42")) == [found.pk]


def test_the_top_navigation_links_to_the_search(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, "/apps/")
    assert '<a href="/deliveries/">Search deliveries</a>' in html
    assert '<a href="/deliveries/" aria-current="page">Search deliveries</a>' in page_text(signed_in_client,
                                                                                           "/deliveries/")


def test_a_device_with_an_error_lists_nothing_rather_than_everything(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)

    html = page_text(signed_in_client, "/deliveries/?device=" + "a" * 65)

    assert field_errors(html, "device") != ""
    assert field_errors(html, "event_id") == ""
    assert delivery_ids(html) == []
