"""Reads for organizations, memberships, invitations and API keys."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from trackerui.accounts.audit import ChangeFeed
from trackerui.accounts.models import ApiKey, Invitation, Membership, Organization, hash_api_key

SESSION_ORGANIZATION_KEY = "organization_id"


def organizations_for_user(user: AbstractBaseUser) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(membership__user=user).order_by("name")


def organization_for_request(request: HttpRequest) -> Organization | None:
    """The organization a request acts for.

    An API key acts for its own organization. A signed-in user acts for the organization
    they chose in the session (the switcher), else the one they have belonged to longest.
    So the organization a user works in changes only when they switch: joining another
    one (a later membership) never moves them, whatever its name.
    """
    cached = getattr(request, "_organization", None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        organization = auth.organization
    else:
        chosen = request.session.get(SESSION_ORGANIZATION_KEY) if hasattr(request, "session") else None
        organization = (chosen and organizations_for_user(request.user).filter(pk=chosen).first()) \
            or _first_joined(request.user)
    request._organization = organization
    return organization


def _first_joined(user: AbstractBaseUser) -> Organization | None:
    if not user.is_authenticated:
        return None
    membership = (Membership.objects.filter(user=user).select_related("organization")
                  .order_by("created_at", "pk").first())
    return membership.organization if membership else None


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


def membership_of(user: AbstractBaseUser, organization: Organization) -> Membership:
    """The user's own membership of the organization, or 404."""
    membership = Membership.objects.filter(user=user, organization=organization).select_related(
        "user", "organization").first()
    if membership is None:
        raise Http404("You are not a member of this organization.")
    return membership


def invitations_for_organization(organization: Organization) -> QuerySet[Invitation]:
    """Every invitation of the organization, newest first (the API's list)."""
    return Invitation.objects.filter(organization=organization).select_related("invited_by", "organization")


def invitations_pending_for_organization(organization: Organization) -> QuerySet[Invitation]:
    """The invitations still waiting for an answer: pending and not expired (the Members page)."""
    return invitations_for_organization(organization).filter(
        status=Invitation.Status.PENDING, expires_at__gt=timezone.now())


def invitation_get_for_organization(organization: Organization, invitation_id: int | str) -> Invitation:
    """The invitation, or 404 when it belongs to another organization."""
    try:
        return invitations_for_organization(organization).get(pk=int(invitation_id))
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation.") from None


def invitations_pending_for_user(user: AbstractBaseUser) -> QuerySet[Invitation]:
    """The invitations a signed-in user may answer now, oldest first."""
    if not user.is_authenticated:
        return Invitation.objects.none()
    return (Invitation.objects.filter(user=user, status=Invitation.Status.PENDING, expires_at__gt=timezone.now())
            .select_related("organization", "invited_by").order_by("created_at", "pk"))


def invitation_get_for_invitee(user: AbstractBaseUser, invitation_id: int | str) -> Invitation:
    """An invitation addressed to this user, or 404: nobody else may answer it, nor learn it exists."""
    try:
        return Invitation.objects.select_related("organization").get(pk=int(invitation_id), user=user)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation.") from None


def membership_changes(organization: Organization) -> ChangeFeed:
    """The audit trail of the organization's memberships and invitations, newest first.

    Memberships: added, role changed, removed or left. Invitations: sent, then withdrawn,
    accepted, declined or expired. The invitation's matched user is never part of it.
    """
    return ChangeFeed({
        "membership": Membership.audit_trail.filter(organization_id=organization.pk),
        "invitation": Invitation.audit_trail.filter(organization_id=organization.pk),
    })
