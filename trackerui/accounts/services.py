"""Writes for organizations, memberships and API keys."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trackerui.accounts.models import ApiKey, Membership, Organization, hash_api_key


@transaction.atomic
def organization_create_or_update(
    *,
    slug: str,
    name: str | None = None,
    owner: AbstractBaseUser | None = None,
    member: AbstractBaseUser | None = None,
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
    if member is not None:
        # Adding someone who is already in keeps their role: an owner is never demoted by this.
        Membership.objects.get_or_create(
            organization=organization, user=member, defaults={"role": Membership.Role.MEMBER}
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


@transaction.atomic
def membership_add(*, organization: Organization, username: str) -> Membership:
    """Add an existing user as a member; a ValidationError names what is wrong."""
    username = username.strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": f"There is no user named “{username}”. They need an account first."})
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": Membership.Role.MEMBER}
    )
    if not created:
        raise ValidationError(
            {"username": f"{username} is already in {organization.name} (as {membership.get_role_display().lower()})."}
        )
    return membership


def _lock_owners(organization: Organization) -> list[int]:
    # Locked, so two owners demoting or removing each other at once cannot leave none.
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.OWNER)
        .values_list("pk", flat=True)
    )


def _refuse_last_owner(membership: Membership) -> None:
    owners = _lock_owners(membership.organization)
    if owners == [membership.pk]:
        raise ValidationError(
            f"{membership.user.get_username()} is the last owner of {membership.organization.name}. "
            "Make someone else an owner first."
        )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"“{role}” is not a role: choose owner or member."})
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER:
        _refuse_last_owner(membership)
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Membership.Role.OWNER:
        _refuse_last_owner(membership)
    membership.delete()
