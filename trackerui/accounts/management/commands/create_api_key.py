from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization. The key is printed once, as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="created with manage.py")
        parser.add_argument(
            "--scope",
            choices=ApiKey.Scope.values,
            default=ApiKey.Scope.FULL,
            help="full: everything an owner may do (the default); ingest: only send events.",
        )

    def handle(self, *args: Any, slug: str, name: str, scope: str, **options: Any) -> None:
        try:
            organization = Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"There is no organization {slug!r}. Create it with create_org.") from None
        api_key, raw_key = api_key_create(organization=organization, name=name, scope=scope)
        self.stderr.write(
            f"API key {api_key.prefix} ({api_key.scope} scope) for {organization.slug}. "
            "It is shown once: store it now."
        )
        self.stdout.write(raw_key)
