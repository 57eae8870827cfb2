"""Creating and deleting alert channels. Each save or delete goes through the model, so the audit trail keeps it."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from delivery.alerts.models import AlertChannel, AlertSettings
from delivery.alerts.targets import TargetRefused, target_check
from trackerui.accounts.models import Organization
from trackerui.foundation.crypto import decrypt, encrypt

WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_SECRET_BYTES = 32
DEFAULT_SUCCESS_RATE_THRESHOLD = 90


@dataclass(frozen=True)
class ChannelCreated:
    channel: AlertChannel
    # A webhook's signing secret, shown once; "" for other kinds.
    secret: str


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of random bytes, which are the HMAC key."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode()


def webhook_secret(channel: AlertChannel) -> str:
    """The channel's secret, decrypted only to sign; cryptography's InvalidToken when no key in
    TOKEN_ENCRYPTION_KEY opens it."""
    return decrypt(channel.secret)


def alert_channel_create(*, organization: Organization, kind: str, target: str) -> ChannelCreated:
    if kind not in AlertChannel.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(AlertChannel.Kind.values)}."})
    try:
        target = target_check(kind, target)
    except TargetRefused as refused:
        raise ValidationError({"target": str(refused)}) from None
    secret = webhook_secret_new() if kind == AlertChannel.Kind.WEBHOOK else ""
    channel = AlertChannel(organization=organization, kind=kind, target=target,
                           secret=encrypt(secret) if secret else "")
    channel.full_clean()
    with transaction.atomic():
        channel.save()
    return ChannelCreated(channel, secret)


def alert_channel_delete(*, channel: AlertChannel) -> None:
    with transaction.atomic():
        channel.delete()


def alert_channels_for_organization(organization: Organization) -> list[AlertChannel]:
    return list(AlertChannel.objects.filter(organization=organization))


def alert_channel_get(organization: Organization, channel_id: object) -> AlertChannel:
    """The organization's channel, or a 404: another organization's channel is not found."""
    try:
        return AlertChannel.objects.get(pk=int(str(channel_id)), organization=organization)
    except (AlertChannel.DoesNotExist, ValueError):
        raise Http404("No such alert channel.") from None


def success_rate_threshold(organization_id: int) -> int:
    threshold = (AlertSettings.objects.filter(organization_id=organization_id)
                 .values_list("success_rate_threshold", flat=True).first())
    return DEFAULT_SUCCESS_RATE_THRESHOLD if threshold is None else threshold
