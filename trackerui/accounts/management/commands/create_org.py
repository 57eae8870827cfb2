from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trackerui.accounts.services import organization_create_or_update


class Command(BaseCommand):
    help = "Create an organization (or update its name), optionally making an existing user its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument("--owner", default=None, metavar="USERNAME")

    def handle(self, *args: Any, slug: str, name: str | None, owner: str | None, **options: Any) -> None:
        user = None
        if owner:
            try:
                user = get_user_model().objects.get(username=owner)
            except get_user_model().DoesNotExist:
                raise CommandError(f"There is no user named {owner!r}.") from None
        organization, created = organization_create_or_update(slug=slug, name=name, owner=user)
        verb = "Created" if created else "Updated"
        line = f"{verb} organization {organization.slug} ({organization.name})"
        if user:
            line += f"; {user.username} is an owner"
        self.stdout.write(line + ".")
