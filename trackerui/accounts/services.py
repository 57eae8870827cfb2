"""Writes for organizations, memberships, invitations and API keys."""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trackerui.accounts.models import ApiKey, Invitation, Membership, Organization, hash_api_key


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


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The user leaves the organization; its last owner cannot."""
    if membership.role == Membership.Role.OWNER and _lock_owners(membership.organization) == [membership.pk]:
        raise ValidationError(
            f"You are the last owner of {membership.organization.name}, so you cannot leave it. "
            "Make someone else an owner first."
        )
    membership.delete()


def _invitee_user(invitee: str) -> AbstractBaseUser | None:
    """The active account an invitee names: its username, else the one account with that e-mail address."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=invitee).first()
    if user is None and "@" in invitee:
        # An address two accounts share names neither: the invitation then reaches nobody.
        matches = list(users.filter(email__iexact=invitee)[:2])
        user = matches[0] if len(matches) == 1 else None
    return user


def _invitation_mail_send(invitation_id: int, answer_url: str) -> None:
    invitation = Invitation.objects.select_related("organization", "invited_by", "user").get(pk=invitation_id)
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "An owner"
    send_mail(
        subject=f"You are invited to join {invitation.organization.name} on CB Tracker",
        message=(
            f"{inviter} invited you to join {invitation.organization.name} on CB Tracker.\n\n"
            f"Sign in to accept or decline: {answer_url}\n\n"
            f"Nothing changes for you until you accept. The invitation expires on "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=None,
        recipient_list=[invitation.user.email],
    )


def _expire_if_due(invitation: Invitation) -> None:
    if invitation.status == Invitation.Status.PENDING and not invitation.is_live():
        invitation.status = Invitation.Status.EXPIRED
        invitation.save(update_fields=["status"])


def invitation_create(
    *, organization: Organization, invitee: str, invited_by: AbstractBaseUser | None, answer_url: str
) -> Invitation:
    """Invite someone by username or e-mail address.

    The outcome is the same whether the invitee has an account or not, so neither the
    answer nor any error may depend on it: only on what was typed. A matching user (not
    yet a member) gets the invitation on their next visit, and an e-mail at `answer_url`
    if they have an address.
    """
    invitee = invitee.strip()
    if not invitee:
        raise ValidationError({"invitee": "Enter a username or an e-mail address."})
    with transaction.atomic():
        # Locked, so two owners inviting the same person at once make one invitation.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        earlier = Invitation.objects.filter(organization=organization, invitee__iexact=invitee,
                                            status=Invitation.Status.PENDING)
        for invitation in earlier:
            _expire_if_due(invitation)
            if invitation.is_live():
                raise ValidationError({"invitee": f"{invitee} already has a pending invitation to "
                                                  f"{organization.name}. Withdraw it first to send a new one."})
        user = _invitee_user(invitee)
        if user is not None and Membership.objects.filter(organization=organization, user=user).exists():
            # Already in: the invitation reaches nobody, and the answer stays the same.
            user = None
        invited_by = invited_by if invited_by is not None and invited_by.is_authenticated else None
        invitation = Invitation.objects.create(organization=organization, invitee=invitee,
                                               invited_by=invited_by, user=user)
        if user is not None and user.email:
            transaction.on_commit(partial(_invitation_mail_send, invitation.pk, answer_url), robust=True)
    return invitation


def _invitation_answer(invitation: Invitation, status: str) -> tuple[Invitation, Membership | None]:
    """Close a live invitation with `status`; a ValidationError when it is no longer pending.

    An invitation found expired is marked so (and audited) before the refusal.
    """
    with transaction.atomic():
        # Locked, so an owner withdrawing and the invitee accepting at once cannot both win.
        locked = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if locked.is_live():
            membership = None
            if status == Invitation.Status.ACCEPTED:
                membership, _ = Membership.objects.get_or_create(
                    organization=locked.organization, user=locked.user, defaults={"role": Membership.Role.MEMBER}
                )
            locked.status = status
            locked.answered_at = timezone.now()
            locked.save(update_fields=["status", "answered_at"])
            return locked, membership
        _expire_if_due(locked)
    raise ValidationError(f"This invitation to {locked.organization.name} is no longer pending: "
                          f"it was {locked.get_status_display().lower()}.")


def invitation_accept(*, invitation: Invitation) -> Membership:
    """The invited user joins as a member. Which organization they work in does not change."""
    _, membership = _invitation_answer(invitation, Invitation.Status.ACCEPTED)
    assert membership is not None
    return membership


def invitation_decline(*, invitation: Invitation) -> Invitation:
    return _invitation_answer(invitation, Invitation.Status.DECLINED)[0]


def invitation_withdraw(*, invitation: Invitation) -> Invitation:
    return _invitation_answer(invitation, Invitation.Status.WITHDRAWN)[0]
