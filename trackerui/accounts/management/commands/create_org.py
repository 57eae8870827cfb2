from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trackerui.accounts.services import organization_create_or_update


def _user_named(username: str | None) -> AbstractBaseUser | None:
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"There is no user named {username!r}.") from None


class Command(BaseCommand):
    help = (
        "Create an organization (or update its name), optionally making an existing user its owner "
        "and adding another as a member."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument("--owner", default=None, metavar="USERNAME")
        parser.add_argument(
            "--member", default=None, metavar="USERNAME",
            help="Add this user with the member role (someone already in keeps their role).",
        )

    def handle(
        self, *args: Any, slug: str, name: str | None, owner: str | None, member: str | None, **options: Any
    ) -> None:
        owner_user = _user_named(owner)
        member_user = _user_named(member)
        organization, created = organization_create_or_update(
            slug=slug, name=name, owner=owner_user, member=member_user
        )
        verb = "Created" if created else "Updated"
        line = f"{verb} organization {organization.slug} ({organization.name})"
        if owner_user:
            line += f"; {owner_user.username} is an owner"
        if member_user:
            role = organization.membership_set.get(user=member_user).get_role_display().lower()
            line += f"; {member_user.username} is a{'n' if role == 'owner' else ''} {role}"
        self.stdout.write(line + ".")
