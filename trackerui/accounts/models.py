"""Organizations, their members and their API keys: the floor everyone stands on.

This module imports neither `mappings` nor `delivery`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from trackerui.accounts.audit import ActorType, AuditedRecords

API_KEY_PREFIX = "cbt"

# How long an invitation waits for its answer.
INVITATION_VALID_FOR = timedelta(days=7)


class Organization(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def membership_label(user: str, organization: str, role: str) -> str:
    """How a membership reads, on its own and in the audit trail: "ana in Acme (owner)"."""
    return f"{user} in {organization} ({role})"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    # Labelled from the history row: the user or the organization may since have been deleted.
    audit_trail = AuditedRecords(shown=("user", "role"), label=membership_label,
                                 label_fields=("user", "organization", "role"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return membership_label(str(self.user), str(self.organization), self.role)


def invitation_label(invitee: str, organization: str) -> str:
    """How an invitation reads, on its own and in the audit trail: "bob@example.com to Acme"."""
    return f"{invitee} to {organization}"


def invitation_expiry() -> datetime:
    return timezone.now() + INVITATION_VALID_FOR


class Invitation(models.Model):
    """An owner's invitation to join an organization, which the invited user accepts or declines.

    `invitee` is what the owner typed (a username or an e-mail address); `user` is the
    account it matched, if any. Nothing the inviter sees (pages, API, the Members page's
    trail) shows `user` or whether it is set, so an invitation never tells which
    usernames or addresses have an account.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitee = models.CharField(max_length=254, help_text="The username or e-mail address as the owner typed it.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations",
        help_text="The account the invitee matched, if any. Never shown to the organization.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invitation_expiry)
    answered_at = models.DateTimeField(null=True, blank=True)

    # The trail is shown to the organization's members: never the matched user.
    audit_trail = AuditedRecords(shown=("invitee", "status"), label=invitation_label,
                                 label_fields=("invitee", "organization"))

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return invitation_label(self.invitee, str(self.organization))

    def is_live(self, now: datetime | None = None) -> bool:
        """Pending and not yet expired: the only invitation that can be answered or withdrawn."""
        return self.status == self.Status.PENDING and self.expires_at > (now or timezone.now())

    @property
    def current_status(self) -> str:
        """The status as it reads now: a pending invitation past its expiry is expired."""
        if self.status == self.Status.PENDING and not self.is_live():
            return self.Status.EXPIRED
        return self.status


def hash_api_key(raw_key: str) -> str:
    # Keys carry 192 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def secret_key_generate(kind: str) -> tuple[str, str]:
    """A new (prefix, raw key) of a kind ("cbt" for API keys, "cbw" for write keys).

    The prefix is the public part shown in lists; the raw key is shown once and stored only
    as its hash (`hash_api_key`). Letters, digits, `_` and `-` only, so a key can stand as
    the user name of HTTP Basic.
    """
    prefix = f"{kind}_{secrets.token_hex(4)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(24)}"


class SecretKey:
    """What an API key and an app's write key share: a public prefix in lists, a hash in the
    table, and a revocation time. `key_kind` names the kind ("cbt", "cbw"; `secret_key_generate`)."""

    key_kind: ClassVar[str]
    prefix: str
    name: str
    revoked_at: Any

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """A new (prefix, raw key). The raw key is shown once and never stored."""
        return secret_key_generate(cls.key_kind)


class ApiKey(SecretKey, models.Model):
    key_kind = API_KEY_PREFIX
    # A request authenticated by a key is the key's doing in the audit trail (audit.actor_of_request).
    audit_actor_type = ActorType.API_KEY

    class Scope(models.TextChoices):
        # A full key acts as an owner of its organization (trackerui/accounts/roles.py).
        FULL = "full", "Full: everything an owner may do"
        # For a key inside a game's backend: a leaked one can send events, not delete apps.
        INGEST = "ingest", "Ingest: only send events"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    # The public part, shown in lists to tell keys apart: "cbt_ab12cd34".
    prefix = models.CharField(
        max_length=20, unique=True, validators=[RegexValidator(r"^cbt_[0-9a-f]{8}$")]
    )
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.FULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # Not audited: the hash of the secret, and `last_used_at`, which says the key was used, not changed
    # (trackerui/accounts/selectors.py::api_key_for_raw touches it with a queryset update, which writes no history).
    audit_trail = AuditedRecords(shown=("name", "prefix", "scope", "revoked_at"),
                                 excluded_fields=("key_hash", "last_used_at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"



class IdempotentRequest(models.Model):
    """One `Idempotency-Key` a key owner sent with a POST, and the answer it got (trackerui/accounts/idempotency.py).

    The row is inserted before the request runs: the unique (owner, key) constraint lets exactly
    one process claim a key, whichever web process or host the requests reach. Kept 24 hours
    (pruned daily by delivery/history/retention.py).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"

    # Who sent it, as the rate limits name them: "key:cbt_ab12cd34" or "user:7".
    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # sha256 of the method, the path and the body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="one_idempotency_key_per_owner")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key} ({self.status})"
