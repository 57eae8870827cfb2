"""Writes for organizations, memberships and API keys."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from trackerui.accounts.models import ApiKey, Membership, Organization, hash_api_key


@transaction.atomic
def organization_create_or_update(
    *, slug: str, name: str | None = None, owner: AbstractBaseUser | None = None
) -> tuple[Organization, bool]:
    organization, created = Organization.objects.get_or_create(
        slug=slug, defaults={"name": name or slug}
    )
    if name and organization.name != name:
        organization.name = name
        organization.save(update_fields=["name"])
    if owner is not None:
        Membership.objects.update_or_create(
            organization=organization, user=owner, defaults={"role": Membership.Role.OWNER}
        )
    return organization, created


def api_key_create(
    *,
    organization: Organization,
    name: str = "",
    created_by: AbstractBaseUser | None = None,
    scope: str = ApiKey.Scope.FULL,
) -> tuple[ApiKey, str]:
    """Create a key; return it with the raw secret, which is never retrievable again."""
    if scope not in ApiKey.Scope.values:
        raise ValueError(f"Unknown API key scope {scope!r}.")
    prefix, raw_key = ApiKey.generate()
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(raw_key),
        created_by=created_by,
        scope=scope,
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
