"""Reads for organizations, memberships and API keys."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from trackerui.accounts.audit import ChangeFeed
from trackerui.accounts.models import ApiKey, Membership, Organization, hash_api_key

SESSION_ORGANIZATION_KEY = "organization_id"


def organizations_for_user(user: AbstractBaseUser) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(membership__user=user).order_by("name")


def organization_for_request(request: HttpRequest) -> Organization | None:
    """The organization a request acts for.

    An API key acts for its own organization. A signed-in user acts for the
    organization chosen in the session, else the first one they belong to.
    """
    cached = getattr(request, "_organization", None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        organization = auth.organization
    else:
        organizations = organizations_for_user(request.user)
        chosen = request.session.get(SESSION_ORGANIZATION_KEY) if hasattr(request, "session") else None
        organization = (chosen and organizations.filter(pk=chosen).first()) or organizations.first()
    request._organization = organization
    return organization


def api_key_for_raw(raw_key: str) -> ApiKey | None:
    api_key = (
        ApiKey.objects.select_related("organization")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if api_key is not None:
        # Touch at most once a minute: a hot key must not write on every request.
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            # A queryset update writes no audit entry, and needs none: `last_used_at` is not audited.
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
    return api_key


def api_keys_for_organization(organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by")


def api_key_get_for_organization(organization: Organization, api_key_id: int | str) -> ApiKey:
    """The key, or 404 when it belongs to another organization."""
    try:
        return api_keys_for_organization(organization).get(pk=int(api_key_id))
    except (ApiKey.DoesNotExist, ValueError, TypeError):
        raise Http404("No such API key.") from None


def memberships_for_organization(organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__username")


def membership_get_for_organization(organization: Organization, membership_id: int | str) -> Membership:
    """The membership, or 404 when it belongs to another organization."""
    try:
        return memberships_for_organization(organization).get(pk=int(membership_id))
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member.") from None


def api_key_changes(organization: Organization) -> ChangeFeed:
    """The audit trail of the organization's API keys (created, renamed, revoked), newest first."""
    return ChangeFeed({"api_key": ApiKey.audit_trail.filter(organization_id=organization.pk)})


def membership_changes(organization: Organization) -> ChangeFeed:
    """The audit trail of the organization's memberships (added, role changed, removed), newest first."""
    return ChangeFeed({"membership": Membership.audit_trail.filter(organization_id=organization.pk)})
