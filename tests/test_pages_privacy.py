"""The Privacy settings page, /settings/privacy/: an owner forgets a device, after a confirm step."""

from __future__ import annotations

from typing import Any

from django.test import Client

from delivery.models import Erasure, TrackedEvent
from mappings.models import App
from tests.factories import DeliveryFactory
from tests.page_helpers import field_errors

IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
KEY = IFA.replace("-", "").lower()
PAGE = "/settings/privacy/"


def test_the_settings_nav_links_the_privacy_page(signed_in_client: Client) -> None:
    assert f'href="{PAGE}"' in signed_in_client.get("/settings/members/").content.decode()


def test_the_first_step_asks_to_confirm_and_erases_nothing(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, event__device=KEY)
    response = signed_in_client.post(PAGE, {"ifa": IFA})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Erase this device" in page
    assert 'name="confirmed" value="True"' in page
    assert TrackedEvent.objects.exists()
    assert not Erasure.objects.exists()


def test_confirming_erases_and_shows_the_counts_without_the_identifier(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, event__device=KEY)
    response = signed_in_client.post(PAGE, {"ifa": IFA, "confirmed": "True"})
    erasure = Erasure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?erasure={erasure.pk}#erasure-result"
    assert IFA not in response["Location"]
    assert not TrackedEvent.objects.exists()
    page = signed_in_client.get(response["Location"]).content.decode()
    assert '<td class="num" data-count="tracked_events">1</td>' in page
    assert '<td class="num" data-count="deliveries">1</td>' in page
    assert KEY not in page.lower() and IFA.lower() not in page.lower()


def test_a_bad_identifier_is_named_under_its_field(signed_in_client: Client) -> None:
    response = signed_in_client.post(PAGE, {"ifa": "nope"})
    assert "32 hexadecimal characters" in field_errors(response.content.decode(), "ifa")
    response = signed_in_client.post(PAGE, {})
    assert "Name the device by at least one of ifa, gaid or uuid" in response.content.decode()


def test_a_member_sees_the_page_but_may_not_erase(plain_member_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, event__device=KEY)
    page = plain_member_client.get(PAGE).content.decode()
    assert "Only an owner" in page and 'name="ifa"' not in page
    response = plain_member_client.post(PAGE, {"ifa": IFA, "confirmed": "True"})
    assert response.status_code == 403
    assert TrackedEvent.objects.exists()


def test_the_page_lists_erasures_and_who_asked(signed_in_client: Client, member: Any) -> None:
    signed_in_client.post(PAGE, {"uuid": "player-42", "confirmed": "True"})
    page = signed_in_client.get(PAGE).content.decode()
    assert "Forget a device" in page
    assert member.get_username() in page
