"""Demo data for `make run`: an organization, a user, a support staff user, an API key, three apps
and typical mappings.

The third app holds an out-of-date token, so its deliveries fail (Chartboost answers 401) and a
newcomer sees the failure and retry screens: `--sandbox-args` prints the arguments that tell the
local sandbox each demo app's current token, as Chartboost would know it (scripts/run.sh).

Idempotent: run it again and it creates only what is missing, leaving edits alone.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mappings.event_fields import EVENT_FIELDS
from mappings.models import App, Platform
from mappings.services import app_create, mapping_create
from trackerui.accounts.models import Organization
from trackerui.accounts.selectors import api_keys_for_organization
from trackerui.accounts.services import api_key_create, organization_create_or_update

ORGANIZATION_SLUG = "demo"
ORGANIZATION_NAME = "Demo Studio"
USERNAME = "demo"
PASSWORD = "demo-password-123"
STAFF_USERNAME = "support"
STAFF_PASSWORD = "support-password-123"

# Made-up credentials in Chartboost's format; the local sandbox accepts any well-formed pair.
APPS: list[dict[str, Any]] = [
    {
        "name": "Puzzle Quest (iOS)",
        "platform": Platform.IOS,
        "chartboost_app_id": "5f2a9c41e8b7d3a6c0e19f42",
        "chartboost_app_token": "8c3e6a1f0b9d47e2a5c8f1d3b6e9a2c4f7d0b3e6a9c2f5d8e1b4a7c0f3d6e9b2",
    },
    {
        "name": "Puzzle Quest (Android)",
        "platform": Platform.ANDROID,
        "chartboost_app_id": "5f2a9c41e8b7d3a6c0e19f57",
        "chartboost_app_token": "3d7b1e9c5a2f8d4b0e6c3a9f7d1b5e2c8a4f0d6b3e9c7a1f5d2b8e4c0a6f3d9b",
    },
    {
        "name": "Word Blitz",
        "platform": Platform.ANDROID,
        "chartboost_app_id": "5f2a9c41e8b7d3a6c0e19f63",
        # The token as the studio saved it before regenerating it in Chartboost's dashboard.
        "chartboost_app_token": "6b1f4d8a2c7e0b5d9f3a6c1e8b4d7a0f2c5e9b3d6a1f4c8e7b0d3a5f9c2e6b14",
    },
]
STALE_TOKEN_APP = "Word Blitz"
# The token Chartboost holds for the stale app; the others' stored tokens are current.
CURRENT_TOKENS = {"5f2a9c41e8b7d3a6c0e19f63": "e4a7c0f3d6b9e2a5c8f1b4d7a0e3c6f9b2d5a8e1c4f7b0d3a6e9c2f5b8d1a4c7"}

MAPPINGS: list[dict[str, Any]] = [
    {"event_name": "level_complete", "event_field": 1, "event_label": "Highest level completed",
     "main_level_property": "level", "sub_level_property": "stage", "description_property": "level_name"},
    {"event_name": "area_entered", "event_field": 2, "description_property": "area"},
    {"event_name": "character_level_up", "event_field": 3, "main_level_property": "char_level",
     "description_property": "character_class"},
    {"event_name": "vip_tier", "event_field": 4, "event_label": "VIP reward level",
     "main_level_property": "tier"},
    {"event_name": "tutorial_complete", "event_field": 5, "event_label": "FTUE completed?",
     "description": "Tutorial Completed"},
]
# Enough for the stale app to show a few failures without crowding its pages.
STALE_TOKEN_APP_FIELDS = {1, 5}


def base_url() -> str:
    # scripts/run.sh serves the dashboard on $PORT (8000 unless set), and runs this command with it.
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"


def sign_in_url() -> str:
    return f"{base_url()}/accounts/login/"


def sandbox_args() -> list[str]:
    """`chartboost_sandbox` arguments that make it hold each demo app's current token, as Chartboost does."""
    tokens = {values["chartboost_app_id"]: values["chartboost_app_token"] for values in APPS} | CURRENT_TOKENS
    return [arg for app_id, token in tokens.items() for arg in ("--app-token", f"{app_id}:{token}")]


class Command(BaseCommand):
    help = ("Create demo data (organization demo, users demo and support, three apps with mappings). "
            "Safe to run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sandbox-args", action="store_true",
                            help="Only print the chartboost_sandbox arguments that know the demo apps' tokens.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sandbox_args"]:
            self.stdout.write(" ".join(sandbox_args()))
            return
        # The demo's passwords are published in this file and the README, and one of its users is a
        # superuser: only a development setup (the public development key) may have them.
        if settings.SECRET_KEY != settings.DEVELOPMENT_SECRET_KEY:
            raise CommandError("seed_demo creates users with published passwords, a superuser among them: "
                               "it runs only with the development SECRET_KEY, never on a deployment.")
        self._seed()

    @transaction.atomic
    def _seed(self) -> None:
        user = self._user()
        organization, _ = organization_create_or_update(slug=ORGANIZATION_SLUG, name=ORGANIZATION_NAME, owner=user)
        for values in APPS:
            self._app(organization, values)
        self._api_key(organization, user)
        self._staff_user()
        self.stdout.write("")
        self.stdout.write(f"Sign in at {sign_in_url()}")
        self.stdout.write(f"  username: {USERNAME}")
        self.stdout.write(f"  password: {PASSWORD}")
        self.stdout.write(f"Support staff sign in to the admin at {base_url()}/admin/")
        self.stdout.write(f"  username: {STAFF_USERNAME}")
        self.stdout.write(f"  password: {STAFF_PASSWORD}")
        self.stdout.write(f"{STALE_TOKEN_APP} holds an out-of-date app token, so its deliveries fail: "
                          "open it to see why, and retry them once its token is fixed.")

    def _staff_user(self) -> None:
        # A superuser, so the demo admin shows every page; real support staff get is_staff and the
        # permissions their job needs.
        user, created = get_user_model().objects.get_or_create(
            username=STAFF_USERNAME,
            defaults={"email": "support@example.com", "first_name": "Support", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(STAFF_PASSWORD)
            user.save(update_fields=["password"])
            self.stdout.write(f"Created support staff user {STAFF_USERNAME}.")

    def _user(self) -> AbstractBaseUser:
        user, created = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"email": "demo@example.com", "first_name": "Demo"}
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            self.stdout.write(f"Created user {USERNAME}.")
        return user

    def _app(self, organization: Organization, values: dict[str, Any]) -> None:
        app = App.objects.filter(organization=organization, name=values["name"]).first()
        if app is None:
            app = app_create(organization=organization, **values)
            self.stdout.write(f"Created app {app.name}.")
        taken = set(app.mappings.values_list("event_field", flat=True))
        wanted = STALE_TOKEN_APP_FIELDS if values["name"] == STALE_TOKEN_APP else set(EVENT_FIELDS)
        for mapping in MAPPINGS:
            if mapping["event_field"] in wanted - taken:
                mapping_create(app=app, **mapping)
                self.stdout.write(f"  mapped {mapping['event_name']} to Event ID {mapping['event_field']}.")

    def _api_key(self, organization: Organization, user: AbstractBaseUser) -> None:
        existing = api_keys_for_organization(organization).filter(revoked_at__isnull=True).first()
        if existing is not None:
            # The raw key was shown once, when it was made; it cannot be shown again.
            self.stdout.write(f"API key {existing.prefix}… exists (create another on the API keys page).")
            return
        _, raw_key = api_key_create(organization=organization, name="demo", created_by=user)
        self.stdout.write(f"Created API key (shown once, store it now): {raw_key}")
