"""Reads for deliveries: lists with filters, one delivery, unmapped event names."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from delivery.models import AppQueue, Delivery, EventName
from mappings.fields import SealedSecret
from mappings.models import App
from trackerui.accounts.models import Organization

UNMAPPED_EVENTS_SHOWN = 20


def device_identity(device: str) -> str:
    """A device as we key it: lowercase without dashes, so an ifa pasted as received matches."""
    return device.replace("-", "").lower()


def deliveries_for_app(
    app: App,
    *,
    status: str | None = None,
    event_field: int | None = None,
    device: str | None = None,
    event_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Delivery]:
    """The app's deliveries, newest first. `since` is inclusive and `until` exclusive (on creation time)."""
    deliveries = Delivery.objects.filter(app=app).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    if event_field is not None:
        deliveries = deliveries.filter(event_field=event_field)
    if device:
        deliveries = deliveries.filter(device=device_identity(device))
    if event_id:
        deliveries = deliveries.filter(event__event_id=event_id)
    if since is not None:
        deliveries = deliveries.filter(created_at__gte=since)
    if until is not None:
        deliveries = deliveries.filter(created_at__lt=until)
    return deliveries.order_by("-created_at", "-id")


def unmapped_event_names(app: App) -> QuerySet[EventName]:
    """Event names the app has sent that no mapping (active or not) uses, most recent first."""
    mapped_names = app.mappings.values("event_name")
    return app.event_names.exclude(name__in=mapped_names).order_by("-last_seen_at", "name")[:UNMAPPED_EVENTS_SHOWN]


def delivery_get_for_organization(organization: Organization | None, delivery_id: int | str) -> Delivery:
    """The delivery with its attempts, or 404 when it belongs to another organization (or nobody)."""
    if organization is None:
        raise Http404("No such delivery.")
    try:
        return (
            Delivery.objects.select_related("event", "app")
            .prefetch_related("attempts")
            .get(pk=int(delivery_id), app__organization=organization, app__archived_at__isnull=True)
        )
    except (Delivery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such delivery.") from None


def app_token_unreadable(app: App) -> bool:
    """Whether signing a request found the app's saved token undecryptable, and it is still that token.

    Only signing decrypts a token (`delivery.outbox.sending.signed_request`), so this is what it
    last found: once the token is re-entered, its fingerprint changes and the note no longer applies.
    """
    token = app.chartboost_app_token
    if not isinstance(token, SealedSecret):
        return False
    return AppQueue.objects.filter(app_id=app.pk, token_unreadable=token.fingerprint).exists()
