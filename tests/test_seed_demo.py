"""`manage.py seed_demo`: the demo data `make run` loads."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from delivery.models import Delivery
from delivery.outbox.recovery import deliveries_retry
from mappings.management.commands.seed_demo import sandbox_args
from mappings.models import App, Mapping
from mappings.services import app_update
from tests.factories import saved_token
from tests.live_receiver import run_queued_sends, sandbox_as_chartboost
from trackerui.accounts.models import ApiKey, Membership
from trackerui.accounts.selectors import api_key_for_raw


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_creates_an_organization_an_owner_a_key_three_apps_and_their_mappings(
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
        "Puzzle Quest (iOS)": "ios", "Puzzle Quest (Android)": "android", "Word Blitz": "android",
    }
    assert set(apps["Word Blitz"].mappings.values_list("event_field", flat=True)) == {1, 5}
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


def test_it_creates_a_support_staff_user_and_prints_the_admin_sign_in(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    out = seed()
    staff = authenticate(username="support", password="support-password-123")
    assert staff is not None and staff.is_staff
    assert not Membership.objects.filter(user=staff).exists()
    assert "Support staff sign in to the admin at http://127.0.0.1:8000/admin/" in out
    assert "username: support" in out and "password: support-password-123" in out


def test_the_sandbox_arguments_hold_a_newer_token_for_the_app_seeded_with_an_old_one(db: None) -> None:
    seed()
    out = StringIO()
    call_command("seed_demo", "--sandbox-args", stdout=out)
    args = out.getvalue().split()
    assert args[::2] == ["--app-token"] * 3
    known = dict(pair.split(":") for pair in args[1::2])
    apps = {app.chartboost_app_id: app for app in App.objects.all()}
    assert set(known) == set(apps)
    stale = {apps[app_id].name for app_id, token in known.items() if saved_token(apps[app_id]) != token}
    assert stale == {"Word Blitz"}


def test_the_sign_in_address_follows_the_port_make_run_serves_on(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert "Sign in at http://127.0.0.1:8123/accounts/login/" in seed()


def test_running_it_again_creates_nothing_new_and_prints_the_existing_key_prefix(db: None) -> None:
    seed()
    counts = (App.objects.count(), Mapping.objects.count(), ApiKey.objects.count())
    out = seed()
    assert (App.objects.count(), Mapping.objects.count(), ApiKey.objects.count()) == counts == (3, 12, 1)
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


def test_the_demo_events_fail_for_the_stale_token_app_only_saying_why_until_its_token_is_fixed(
    db: None, settings: Settings, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    seed()
    known_tokens = dict(pair.split(":") for pair in sandbox_args()[1::2])
    with sandbox_as_chartboost(settings, app_tokens=known_tokens):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("send_demo_events", "--rounds", "1", stdout=StringIO())
        while run_queued_sends():
            pass
        failed = Delivery.objects.filter(status=Delivery.Status.FAILED)
        assert {delivery.app.name for delivery in failed} == {"Word Blitz"}
        assert failed.count() == 2
        assert all("status 401" in d.reason and "check the app token" in d.reason for d in failed)
        assert all(d.attempts.get().response_status == 401 for d in failed)
        assert not Delivery.objects.exclude(app__name="Word Blitz").exclude(status=Delivery.Status.DELIVERED).exists()

        # What the README tells a newcomer to do: put in the token Chartboost holds, and retry.
        stale = App.objects.get(name="Word Blitz")
        with django_capture_on_commit_callbacks(execute=True):
            app_update(app=stale, chartboost_app_token=known_tokens[stale.chartboost_app_id])
            assert deliveries_retry(deliveries=Delivery.objects.filter(app=stale)) == 2
        while run_queued_sends():
            pass
    assert set(Delivery.objects.filter(app=stale).values_list("status", flat=True)) == {Delivery.Status.DELIVERED}


@pytest.mark.django_db
def test_it_refuses_to_run_with_a_real_secret_key(settings: Settings) -> None:
    settings.SECRET_KEY = "a-deployment-key-" + "x" * 40
    with pytest.raises(CommandError, match="development SECRET_KEY"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
