"""Demo data for `make run`: an organization, a user, an API key, two apps and typical mappings.

Idempotent: run it again and it creates only what is missing, leaving edits alone.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand
from django.db import transaction

from mappings.models import App, Platform
from mappings.services import app_create, mapping_create
from trackerui.accounts.models import Organization
from trackerui.accounts.selectors import api_keys_for_organization
from trackerui.accounts.services import api_key_create, organization_create_or_update

ORGANIZATION_SLUG = "demo"
ORGANIZATION_NAME = "Demo Studio"
USERNAME = "demo"
PASSWORD = "demo-password-123"

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
]

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


def sign_in_url() -> str:
    # scripts/run.sh serves the dashboard on $PORT (8000 unless set), and runs this command with it.
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/accounts/login/"


class Command(BaseCommand):
    help = "Create demo data (organization demo, user demo, two apps with mappings). Safe to run again."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user()
        organization, _ = organization_create_or_update(slug=ORGANIZATION_SLUG, name=ORGANIZATION_NAME, owner=user)
        for values in APPS:
            self._app(organization, values)
        self._api_key(organization, user)
        self.stdout.write("")
        self.stdout.write(f"Sign in at {sign_in_url()}")
        self.stdout.write(f"  username: {USERNAME}")
        self.stdout.write(f"  password: {PASSWORD}")

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
        for mapping in MAPPINGS:
            if mapping["event_field"] not in taken:
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
