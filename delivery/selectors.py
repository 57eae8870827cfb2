"""Reads for deliveries: lists, keyset chunks for the export, one delivery, the event names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from delivery.models import AppSendingState, Attempt, Delivery, EventName
from mappings.fields import SealedSecret
from mappings.models import App, Mapping
from trackerui.accounts.models import Organization

UNMAPPED_EVENTS_SHOWN = 20


def deliveries_for_app(app: App) -> QuerySet[Delivery]:
    """The app's deliveries, newest first; `delivery.filters.DeliveryFilterSet` narrows them."""
    return Delivery.objects.filter(app=app).select_related("event").order_by("-created_at", "-id")


def deliveries_for_organization(organization: Organization | None) -> QuerySet[Delivery]:
    """The deliveries of every live app of the organization, newest first, for the search across apps."""
    if organization is None:
        return Delivery.objects.none()
    return (
        Delivery.objects.filter(app__organization=organization, app__archived_at__isnull=True)
        .select_related("event", "app")
        .order_by("-created_at", "-id")
    )


class DeliveryRecord(NamedTuple):
    """What a list of deliveries shows of one, read as plain values: no model, no JSON decoded."""

    id: int
    created_at: datetime
    event_id: str
    event_name: str
    event_field: int
    status: str
    attempt_count: int
    last_attempt_at: datetime | None
    # Chartboost's JSON `status` and `message` in the latest attempt's answer; None if never sent.
    last_response_status: int | None
    last_response_message: str | None
    reason: str
    device: str


_RECORD_COLUMNS = (
    "id", "created_at", "event__event_id", "event__name", "event_field", "status", "attempt_count",
    "last_attempt_at", "last_response_status", "last_response_message", "reason", "device",
)


def delivery_records_in_chunks(deliveries: QuerySet[Delivery], *, chunk_size: int) -> Iterator[list[DeliveryRecord]]:
    """Every delivery of `deliveries`, newest first, as records, `chunk_size` at a time.

    Keyset pagination on (created_at, id): each chunk is one query that starts after the
    last row of the one before, through the (app, created_at) index, so no chunk costs more
    than the first however deep it is (an OFFSET would reread every row before it), and only
    one chunk is held at a time. The latest attempt's answer comes from subqueries, so a
    chunk is still one query.
    """
    latest = Attempt.objects.filter(delivery=OuterRef("pk")).order_by("-number")
    ordered = (
        deliveries.annotate(
            last_response_status=Subquery(latest.values("response_status")[:1]),
            last_response_message=Subquery(latest.values("response_message")[:1]),
        )
        .order_by("-created_at", "-id")
        .values_list(*_RECORD_COLUMNS)
    )
    after: DeliveryRecord | None = None
    while True:
        page = ordered
        if after is not None:
            # "Before `after` in this order", written so the index range on created_at applies.
            page = page.filter(created_at__lte=after.created_at).exclude(created_at=after.created_at, id__gte=after.id)
        chunk = [DeliveryRecord(*values) for values in page[:chunk_size]]
        if chunk:
            yield chunk
        if len(chunk) < chunk_size:
            return
        after = chunk[-1]


def event_names_catalogue(app: App) -> QuerySet[EventName]:
    """Every event name the app has sent, most recently seen first, each with `mapped`: whether any
    mapping (active or not) uses it."""
    mappings_of_name = Mapping.objects.filter(app=app, event_name=OuterRef("name"))
    return app.event_names.annotate(mapped=Exists(mappings_of_name)).order_by("-last_seen_at", "name")


def unmapped_event_names(app: App) -> QuerySet[EventName]:
    """The catalogue's event names that no mapping uses: the app page's mapping candidates."""
    return event_names_catalogue(app).filter(mapped=False)[:UNMAPPED_EVENTS_SHOWN]


def event_fields_mapped(app: App, names: Iterable[str]) -> dict[str, list[int]]:
    """Per event name, the Chartboost Event IDs its mappings (active or not) send to, in order."""
    fields: dict[str, list[int]] = {name: [] for name in names}
    mappings = Mapping.objects.filter(app=app, event_name__in=fields).order_by("event_field")
    for event_name, event_field in mappings.values_list("event_name", "event_field"):
        fields[event_name].append(event_field)
    return fields


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
    return token_unreadable_in(app, AppSendingState.objects.filter(app_id=app.pk).first())


def token_unreadable_in(app: App, queue: AppSendingState | None) -> bool:
    """`app_token_unreadable` from a queue row already read (the apps list reads them all at once)."""
    token = app.chartboost_app_token
    return isinstance(token, SealedSecret) and queue is not None and queue.token_unreadable == token.fingerprint


# The reasons read to name the most common one: the latest failures say what is wrong now.
FAILED_REASONS_READ = 500


def failed_reason_top(app: App) -> str:
    """Why the app's deliveries failed in the last 24 hours: the most common reason among the latest
    FAILED_REASONS_READ failures (one query through the (app, created_at) index), or ""."""
    since = timezone.now() - timedelta(hours=24)
    reasons = (Delivery.objects.filter(app=app, status=Delivery.Status.FAILED, created_at__gte=since)
               .order_by("-created_at").values_list("reason", flat=True)[:FAILED_REASONS_READ])
    counts = Counter(reason for reason in reasons if reason)
    return counts.most_common(1)[0][0] if counts else ""
