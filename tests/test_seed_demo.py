"""`manage.py seed_demo`: the demo data `make run` loads."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from mappings.models import App, Mapping
from trackerui.accounts.models import ApiKey, Membership
from trackerui.accounts.selectors import api_key_for_raw


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_creates_an_organization_an_owner_a_key_two_apps_and_their_mappings(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    out = seed()
    user = authenticate(username="demo", password="demo-password-123")
    membership = Membership.objects.get(user=user)
    assert (membership.organization.slug, membership.organization.name) == ("demo", "Demo Studio")
    assert membership.role == Membership.Role.OWNER
    apps = {app.name: app for app in App.objects.filter(organization=membership.organization)}
    assert {name: app.platform for name, app in apps.items()} == {
        "Puzzle Quest (iOS)": "ios", "Puzzle Quest (Android)": "android",
    }
    ios = apps["Puzzle Quest (iOS)"]
    level = ios.mappings.get(event_name="level_complete")
    assert (level.event_field, level.main_level_property, level.sub_level_property) == (1, "level", "stage")
    tutorial = ios.mappings.get(event_field=5)
    assert (tutorial.event_name, tutorial.label, tutorial.description) == (
        "tutorial_complete", "FTUE completed?", "Tutorial Completed",
    )
    assert ios.mappings.get(event_field=2).description_property == "area"
    assert ios.mappings.get(event_field=3).main_level_property == "char_level"
    assert ios.mappings.get(event_field=4).event_name == "vip_tier"
    raw_key = re.search(r"(cbt_[0-9a-f]{8}_\S+)", out).group(1)
    assert api_key_for_raw(raw_key).organization == membership.organization
    assert "http://127.0.0.1:8000/accounts/login/" in out
    assert "username: demo" in out and "password: demo-password-123" in out


def test_the_sign_in_address_follows_the_port_make_run_serves_on(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert "Sign in at http://127.0.0.1:8123/accounts/login/" in seed()


def test_running_it_again_creates_nothing_new_and_prints_the_existing_key_prefix(db: None) -> None:
    seed()
    counts = (App.objects.count(), Mapping.objects.count(), ApiKey.objects.count())
    out = seed()
    assert (App.objects.count(), Mapping.objects.count(), ApiKey.objects.count()) == counts == (2, 10, 1)
    assert f"API key {ApiKey.objects.get().prefix}… exists" in out
    assert not re.search(r"cbt_[0-9a-f]{8}_\S", out)


def test_running_it_again_keeps_what_the_customer_changed(db: None) -> None:
    seed()
    mapping = Mapping.objects.filter(event_field=1).first()
    mapping.event_label = "My own label"
    mapping.save()
    seed()
    mapping.refresh_from_db()
    assert mapping.label == "My own label"
