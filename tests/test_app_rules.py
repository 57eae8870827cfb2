"""The rules for apps: each bad value is refused with a message that says what is wrong,
through the service (what the API and admin use) and through the dashboard's app form."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from mappings.models import App
from mappings.services import app_create, app_update
from tests.factories import AppFactory, saved_token
from tests.page_helpers import field_errors, unescape
from trackerui.accounts.models import Organization

GOOD = {
    "name": "Puzzle Quest",
    "platform": "ios",
    "chartboost_app_id": "4f7aa26ef77659d869000003",
    "chartboost_app_token": "a" * 64,
}

# (field, bad value, words the message must contain). A missing value is caught by the
# form before the model sees it, hence two wordings for "blank".
BAD_VALUES = [
    ("name", "", "This field cannot be blank"),
    ("chartboost_app_token", "", "This field cannot be blank"),
    ("name", "x" * 101, "at most 100 characters"),
    ("name", "   ", "This field cannot be blank"),
    ("name", "Puzzle\x1bQuest", "Control characters (U+0000-U+001F, U+007F) are not allowed."),
    ("platform", "windows", "Platform must be ios, android or amazon (got 'windows')"),
    ("chartboost_app_id", "4f7aa26ef77659d86900000", "24 hexadecimal characters"),
    ("chartboost_app_id", "4f7aa26ef77659d8690000031", "24 hexadecimal characters"),
    ("chartboost_app_id", "4f7aa26ef77659d86900000z", "24 hexadecimal characters"),
    ("chartboost_app_token", "a" * 63, "64 hexadecimal characters"),
    ("chartboost_app_token", "g" * 64, "64 hexadecimal characters"),
]
PAGE_WORDING = {"This field cannot be blank": "This field is required"}


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_the_service_refuses_a_bad_value_naming_what_is_wrong(organization: Organization, field: str, value: str,
                                                              message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        app_create(organization=organization, **{**GOOD, field: value})
    assert message in " ".join(refused.value.message_dict[field])
    assert not App.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_the_app_form_shows_the_message_next_to_the_field(signed_in_client: Client, field: str, value: str,
                                                          message: str) -> None:
    response = signed_in_client.post("/apps/new/", {**GOOD, field: value})
    assert response.status_code == 200
    assert PAGE_WORDING.get(message, message) in unescape(field_errors(response.content.decode(), field))
    assert not App.objects.exists()


def test_a_valid_app_is_created_with_its_hex_lowercased(organization: Organization) -> None:
    app = app_create(organization=organization, **{**GOOD, "chartboost_app_id": GOOD["chartboost_app_id"].upper(),
                                                   "chartboost_app_token": "AB" * 32})
    app.refresh_from_db()
    assert app.chartboost_app_id == "4f7aa26ef77659d869000003"
    assert saved_token(app) == "ab" * 32
    assert app.delivery_enabled is True
    assert app.s2s_confirmed is False


def test_every_platform_of_the_spec_is_accepted(organization: Organization) -> None:
    # Each with its own Chartboost app ID: one organization's live apps may not share one.
    for number, platform in enumerate(("ios", "android", "amazon")):
        app_create(organization=organization, **{**GOOD, "platform": platform, "chartboost_app_id": f"{number:024x}"})
    assert sorted(App.objects.values_list("platform", flat=True)) == ["amazon", "android", "ios"]


def test_updating_without_a_token_keeps_the_saved_one(organization: Organization) -> None:
    app = AppFactory(organization=organization, chartboost_app_token="c" * 64)
    app_update(app=app, name="Renamed", chartboost_app_token="")
    app.refresh_from_db()
    assert (app.name, saved_token(app)) == ("Renamed", "c" * 64)


def test_the_edit_page_refuses_a_bad_replacement_token_and_keeps_the_saved_one(signed_in_client: Client,
                                                                               app: App) -> None:
    saved = saved_token(app)
    response = signed_in_client.post(f"/apps/{app.pk}/edit/", {**GOOD, "chartboost_app_token": "123"})
    assert "64 hexadecimal characters" in field_errors(response.content.decode(), "chartboost_app_token")
    app.refresh_from_db()
    assert saved_token(app) == saved


def test_an_app_names_its_platform_once_even_when_its_name_already_does(organization: Organization) -> None:
    assert str(AppFactory(organization=organization, name="Word Blitz", platform="android")) == "Word Blitz (Android)"
    assert str(AppFactory(organization=organization, name="Puzzle Quest (iOS)", platform="ios")) == "Puzzle Quest (iOS)"
