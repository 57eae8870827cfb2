"""REST API for deliveries: an app's list and the search across apps, one with its attempts, retry, recover,
stats, the event names and the test event.

Views check access (another organization's app or delivery is a 404), read their input
with a small serializer, and call one selector or service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.filters import DeliveryFilterSet, DeliverySearchFilterSet
from delivery.forms import TIME_HELP, RecoverForm, TimeField
from delivery.history.stats import STATS_DEFAULT_DAYS, STATS_MAX_DAYS, app_stats
from delivery.ingest.backfill import NoMapping, backfill_request
from delivery.ingest.simulate import MAX_DAYS, MIN_DAYS, mappings_simulate
from delivery.models import Delivery
from delivery.outbox.recovery import DeliveryNotFailed, deliveries_recover, delivery_retry
from delivery.outbox.trial_event import TestEventLimited, TestEventRefused, test_event_send
from delivery.selectors import (
    deliveries_for_app,
    deliveries_for_organization,
    delivery_get_for_organization,
    event_fields_mapped,
    event_names_catalogue,
)
from mappings.api import APP_ID_PARAMETER, MAPPING_EXAMPLE, MappingInputSerializer
from mappings.models import Mapping
from mappings.selectors import app_get_for_request
from trackerui.accounts.selectors import organization_for_request
from trackerui.foundation.api import Conflict, Pagination
from trackerui.foundation.api_schema import DETAIL_SCHEMA

DELIVERY_ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The delivery's `id`.")

TRACK_INFO_ITEM_SCHEMA = {
    "type": "object",
    "description": "The `track_info` item for Chartboost, fixed when the event was received: what is sent, or "
    "for a `suppressed` or `blocked` delivery, which is never sent, what would have been sent.",
    "properties": {
        "event_label": {"type": "string"},
        "event_field": {"type": "integer"},
        "main_level": {"type": "integer"},
        "sub_level": {"type": "integer"},
        "description": {"type": "string"},
        "data_type": {"type": "string"},
    },
}


@extend_schema_field(TRACK_INFO_ITEM_SCHEMA)
class TrackInfoItemField(serializers.JSONField):
    pass


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    app_id = serializers.IntegerField()
    event_id = serializers.CharField(
        source="event.event_id", help_text="Your event_id: the id your game sent with the tracked event."
    )
    event_name = serializers.CharField(source="event.name")
    mapping_id = serializers.IntegerField(allow_null=True, help_text="Null once the mapping has been deleted.")
    event_field = serializers.IntegerField(
        help_text="The Chartboost Event ID (1–5) it goes to (or would have: `suppressed` and `blocked` are never sent)."
    )
    device = serializers.CharField(help_text="The device identity: ifa, else gaid, else uuid, lowercase, no dashes.")
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    reason = serializers.CharField(
        help_text="Why it is suppressed or blocked (\"Not sent: ...\") or failed, in plain words."
    )
    item = TrackInfoItemField()
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    first_attempt_at = serializers.DateTimeField(allow_null=True, help_text="The very first attempt, never reset.")
    retry_window_started_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current retry window began (a manual retry starts a new one); "
        "RETRY_MAX_AGE counts from it."
    )
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    endpoint = serializers.CharField()
    request_headers = serializers.DictField(child=serializers.CharField(), help_text="The token is masked.")
    request_body = serializers.DictField(help_text="The body sent, with the token masked.")
    http_status = serializers.IntegerField(allow_null=True)
    response_status = serializers.IntegerField(allow_null=True, help_text="The `status` in Chartboost's JSON answer.")
    response_message = serializers.CharField()
    response_body = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    outcome = serializers.CharField(help_text="delivered, retry or failed: what this answer meant.")


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    attempts = AttemptOutputSerializer(many=True, help_text="Every attempt, oldest first.")


def event_field_filter(help_text: str) -> serializers.IntegerField:
    """The optional `event_field` query parameter, validated the same way wherever it filters."""
    return serializers.IntegerField(required=False, min_value=1, max_value=5, help_text=help_text)


class DeliveryListMixin:
    """A paginated list of deliveries, filtered by a FilterSet of `delivery.filters`: a filter with an
    error answers 400 naming it, and the schema documents every filter (django-filter's backend)."""

    # The model, for django-filter and the schema; `get_queryset` reads only the organization's.
    queryset = Delivery.objects.none()
    serializer_class = DeliveryOutputSerializer
    pagination_class = Pagination
    filter_backends = [DjangoFilterBackend]


@extend_schema(tags=["deliveries"], parameters=[APP_ID_PARAMETER])
@extend_schema_view(get=extend_schema(operation_id="deliveries_list"))
class AppDeliveryListApi(DeliveryListMixin, ListAPIView):
    filterset_class = DeliveryFilterSet

    def get_queryset(self) -> QuerySet[Delivery]:
        return deliveries_for_app(app_get_for_request(self.request, self.kwargs["app_id"]))


@extend_schema(tags=["deliveries"])
@extend_schema_view(get=extend_schema(
    operation_id="deliveries_search",
    description="The organization's deliveries across all its apps, newest first, found by your `event_id` or "
    "a `device` (one of the two is required: without either the answer is 400 naming `event_id`), with the "
    "same filters as an app's list and `app` to keep to one app.",
))
class DeliverySearchApi(DeliveryListMixin, ListAPIView):
    filterset_class = DeliverySearchFilterSet

    def get_queryset(self) -> QuerySet[Delivery]:
        return deliveries_for_organization(organization_for_request(self.request))


@extend_schema(tags=["deliveries"], parameters=[DELIVERY_ID_PARAMETER])
class DeliveryDetailApi(APIView):
    @extend_schema(operation_id="deliveries_retrieve", responses=DeliveryDetailOutputSerializer)
    def get(self, request: Request, id: int) -> Response:
        delivery = delivery_get_for_organization(organization_for_request(request), id)
        return Response(DeliveryDetailOutputSerializer(delivery).data)


@extend_schema(tags=["deliveries"], parameters=[DELIVERY_ID_PARAMETER])
class DeliveryRetryApi(APIView):
    @extend_schema(
        operation_id="deliveries_retry",
        request=None,
        responses={202: DeliveryDetailOutputSerializer, 409: DETAIL_SCHEMA},
        description="Send a `failed` delivery again: it becomes `pending` and goes out at once, with a fresh "
        "retry window. Its earlier attempts stay. Any other status answers 409.",
        examples=[
            OpenApiExample(
                "Not failed",
                response_only=True,
                status_codes=["409"],
                value={"detail": "Only a failed delivery can be retried; delivery 42 is delivered."},
            )
        ],
    )
    def post(self, request: Request, id: int) -> Response:
        delivery = delivery_get_for_organization(organization_for_request(request), id)
        try:
            delivery = delivery_retry(delivery=delivery)
        except DeliveryNotFailed as error:
            raise Conflict(str(error)) from None
        return Response(DeliveryDetailOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_field({"type": "string", "example": "24h"})
class PageTimeField(serializers.Field):
    """A time read exactly as the pages read it (`delivery.forms.TimeField`, here the recover form's):
    ISO-8601 in UTC unless it says otherwise, or a span ago with its unit such as `24h`."""

    def __init__(self, form_field: forms.Field, **kwargs: Any) -> None:
        self.form_field = form_field
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        # The form field reads text only: anything else (a number, a list, true) is refused here.
        if not isinstance(data, str):
            raise serializers.ValidationError("Give a time as text: ISO-8601 or a span ago such as 24h.")
        try:
            return self.form_field.clean(data)
        except forms.ValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class RecoverInputSerializer(serializers.Serializer):
    since = PageTimeField(
        RecoverForm.base_fields["since"],
        help_text="Send again every failed delivery created at or after this time: ISO-8601 (UTC unless it "
        "says otherwise, e.g. `2025-03-01T00:00:00Z`) or a span ago with its unit (`1h`, `24h`, `7d`), as on "
        "the deliveries page.",
    )


class RecoverOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many failed deliveries were sent again.")


@extend_schema(tags=["deliveries"], parameters=[APP_ID_PARAMETER])
class AppRecoverApi(APIView):
    @extend_schema(
        operation_id="apps_recover",
        request=RecoverInputSerializer,
        responses={202: RecoverOutputSerializer},
        description="Send again every `failed` delivery of the app created since `since` (the same set "
        "`deliveries/?status=failed&since=...` lists). Each starts over with a fresh retry window. "
        "`since` takes the pages' time inputs: ISO-8601, or a span ago such as `24h` or `7d`.",
        examples=[
            OpenApiExample("Since the token was fixed", request_only=True, value={"since": "2025-03-01T00:00:00Z"}),
            OpenApiExample("The last 24 hours", request_only=True, value={"since": "24h"}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value={"count": 12}),
        ],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = RecoverInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = deliveries_recover(app=app, since=serializer.validated_data["since"])
        return Response(RecoverOutputSerializer({"count": count}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_field({"type": "string", "example": "24h"})
class SinceField(serializers.Field):
    """A time as the pages' time inputs take it (`delivery/forms.py::TimeField`): ISO-8601, or "24h" ago."""

    def to_internal_value(self, data: Any) -> datetime:
        try:
            value = TimeField(required=True).clean(data if isinstance(data, str) else "")
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value

    def to_representation(self, value: datetime) -> str:
        return serializers.DateTimeField().to_representation(value)


class BackfillInputSerializer(serializers.Serializer):
    since = SinceField(help_text="Cover the stored events whose own time is at or after this. " + TIME_HELP)
    event_field = serializers.IntegerField(min_value=1, max_value=5, help_text="The Event ID whose mapping is sent.")


class BackfillOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The backfill's record (who asked, when, since, Event ID, count).")
    event_field = serializers.IntegerField()
    event_name = serializers.CharField()
    since = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Stored events without a delivery for the Event ID: each gets one.")


@extend_schema(tags=["deliveries"], parameters=[APP_ID_PARAMETER])
class AppBackfillApi(APIView):
    @extend_schema(
        operation_id="apps_backfill",
        request=BackfillInputSerializer,
        responses={202: BackfillOutputSerializer},
        description="Send the Event ID's mapping over the app's stored events since `since` that have no "
        "delivery for it yet, in event-time order (the sequential rule applies, a device's live level "
        "included), paced so live events go first. Asked twice, the second creates nothing.",
        examples=[
            OpenApiExample("The last day", request_only=True, value={"since": "24h", "event_field": 1}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
                "id": 4, "event_field": 1, "event_name": "level_complete", "since": "2025-03-01T00:00:00Z",
                "count": 40}),
        ],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = BackfillInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            backfill = backfill_request(app=app, **serializer.validated_data)
        except NoMapping as error:
            raise serializers.ValidationError({"event_field": [str(error)]}) from None
        return Response(BackfillOutputSerializer(backfill).data, status=status.HTTP_202_ACCEPTED)


MAX_DRAFTS = 5


@extend_schema_field(MappingInputSerializer(many=True))
class DraftMappingsField(serializers.Field):
    """1 to MAX_DRAFTS draft mappings, each checked by the mapping rules of mappings/models.py, except that
    its Event ID may be taken (it is a draft). Errors are one list of strings, each naming its draft."""

    def to_internal_value(self, data: Any) -> list[Mapping]:
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_DRAFTS:
            raise serializers.ValidationError(f"Give a list of 1 to {MAX_DRAFTS} draft mappings.")
        drafts: list[Mapping] = []
        errors: list[str] = []
        for number, values in enumerate(data, 1):
            serializer = MappingInputSerializer(data=values)
            if not serializer.is_valid():
                errors += _draft_errors(number, serializer.errors)
                continue
            draft = Mapping(**serializer.validated_data)
            try:
                draft.full_clean(exclude=["app"])
            except DjangoValidationError as error:
                errors += _draft_errors(number, error.message_dict)
            drafts.append(draft)
        if errors:
            raise serializers.ValidationError(errors)
        return drafts


def _draft_errors(number: int, errors: dict[str, Any]) -> list[str]:
    return [f"Draft {number}, {field}: {message}" for field, messages in errors.items() for message in messages]


class SimulateInputSerializer(serializers.Serializer):
    mappings = DraftMappingsField(help_text="1 to 5 draft mappings, as `POST .../mappings/` takes them; none is saved.")
    days = serializers.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, default=7,
                                    help_text="Over the stored events of the last `days` days (1–30).")


class SimulatedRejectionSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="What was wrong, e.g. `properties.level`.")
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                     help_text="A few of them: `event_id` and the message ingestion would answer.")


class SimulatedExampleSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    item = TrackInfoItemField(help_text="The `track_info` item exactly as it would be sent.")


class SimulatedDraftSerializer(serializers.Serializer):
    event_name = serializers.CharField()
    event_field = serializers.IntegerField()
    matched = serializers.IntegerField(help_text="Stored events of the event name in the period.")
    sent = serializers.IntegerField(help_text="How many would be sent.")
    rejected = serializers.IntegerField(help_text="How many the mapping could not read (rejected at ingestion).")
    rejected_by_reason = SimulatedRejectionSerializer(many=True)
    suppressed = serializers.IntegerField(help_text="Not above the device's highest level: never sent.")
    blocked = serializers.IntegerField(help_text="The player opted out (limit_ad_tracking): never sent.")
    examples = SimulatedExampleSerializer(many=True)


class SimulateOutputSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    results = SimulatedDraftSerializer(many=True, help_text="One per draft mapping, in order.")


@extend_schema(tags=["mappings"], parameters=[APP_ID_PARAMETER])
class AppSimulateApi(APIView):
    @extend_schema(
        operation_id="apps_simulate",
        request=SimulateInputSerializer,
        responses={200: SimulateOutputSerializer},
        description="Run draft mappings over the app's stored events of the last `days` days, with the "
        "rules ingestion applies (levels, the sequential rule from the devices' stored levels, opt-outs). "
        "Nothing is stored or sent.",
        examples=[OpenApiExample("A draft", request_only=True, value={"mappings": [MAPPING_EXAMPLE], "days": 1})],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = SimulateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        days = serializer.validated_data["days"]
        results = mappings_simulate(app=app, drafts=serializer.validated_data["mappings"], days=days)
        return Response(SimulateOutputSerializer({"days": days, "results": results}).data)


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, default=STATS_DEFAULT_DAYS, min_value=1, max_value=STATS_MAX_DAYS,
        help_text=f"How many UTC days, ending today (default {STATS_DEFAULT_DAYS}, at most {STATS_MAX_DAYS}).",
    )
    event_field = event_field_filter("Count only the deliveries to this Chartboost Event ID (1-5).")


class StatsCountsSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Deliveries created.")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Pending and retrying together.")
    success_rate = serializers.FloatField(
        allow_null=True, help_text="delivered / (delivered + failed), or null when neither."
    )


class StatsDateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The UTC day the deliveries were created.")


class StatsDaySerializer(StatsDateSerializer, StatsCountsSerializer):
    """The day first, then its counts (DRF orders inherited fields by base): a row reads like the table on the
    app page."""


class StatsOutputSerializer(serializers.Serializer):
    app_id = serializers.IntegerField()
    days = StatsDaySerializer(many=True, help_text="One row per UTC day, oldest first, empty days included.")
    totals = StatsCountsSerializer(help_text="The same counts over the whole range.")


@extend_schema(tags=["stats"], parameters=[APP_ID_PARAMETER])
class AppStatsApi(APIView):
    @extend_schema(
        operation_id="apps_stats",
        parameters=[StatsQuerySerializer],
        responses=StatsOutputSerializer,
        description="What became of the deliveries created on each of the last `days` UTC days, "
        "for every Event ID or only `event_field`.",
    )
    def get(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = app_stats(app, query.validated_data["days"], event_field=query.validated_data.get("event_field"))
        body = {
            "app_id": app.pk,
            "days": [{"date": day, **counts.as_dict()} for day, counts in stats.days],
            "totals": stats.totals.as_dict(),
        }
        return Response(StatsOutputSerializer(body).data)


class EventNameOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The tracked event's name, as your game sends it.")
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="How many events of this name were received.")
    example_properties = serializers.DictField(help_text="The properties of a recent event of this name.")
    mapped_event_fields = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The Chartboost Event IDs (1–5) that mappings of this name send to, active or not; "
        "empty when no mapping uses it yet (a candidate to map).",
    )


@extend_schema(tags=["apps"], parameters=[APP_ID_PARAMETER])
class AppEventNamesApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="apps_event_names",
        responses=EventNameOutputSerializer(many=True),
        description="The tracked-events catalogue: every event name the app has sent, most recently seen first, "
        "with its first and last time, count, example properties and the Chartboost Event IDs it is mapped to.",
    )
    def get(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        paginator = self.pagination_class()
        event_names = paginator.paginate_queryset(event_names_catalogue(app), request, view=self)
        mapped = event_fields_mapped(app, [event_name.name for event_name in event_names])
        rows = [
            {
                "name": event_name.name,
                "first_seen_at": event_name.first_seen_at,
                "last_seen_at": event_name.last_seen_at,
                "count": event_name.count,
                "example_properties": event_name.example_properties,
                "mapped_event_fields": mapped[event_name.name],
            }
            for event_name in event_names
        ]
        return paginator.get_paginated_response(EventNameOutputSerializer(rows, many=True).data)


class TestEventAnswerSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="delivered, retry or failed: what a delivery with this answer would "
                                    "have come to.")
    http_status = serializers.IntegerField(allow_null=True, help_text="Null when Chartboost could not be reached.")
    response_status = serializers.IntegerField(allow_null=True, help_text="The `status` in Chartboost's JSON answer.")
    response_message = serializers.CharField()
    response_body = serializers.CharField()
    error = serializers.CharField(help_text="What went wrong when there was no readable answer (a timeout, say).")
    hint = serializers.CharField(help_text="A plain-English next step when Chartboost refused the event.")


class TestEventRequestSerializer(serializers.Serializer):
    url = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField(), help_text="The signature is sent as computed.")
    body = serializers.DictField(help_text="The body sent, with the token masked.")


class TestEventOutputSerializer(serializers.Serializer):
    delivered = serializers.BooleanField(help_text="Chartboost accepted the event.")
    source = serializers.CharField(help_text="Which item was sent: the first active mapping's, or a fixed one.")
    request = TestEventRequestSerializer(help_text="The exact signed request, token masked.")
    answer = TestEventAnswerSerializer(source="verdict", help_text="Chartboost's answer.")
    latency_ms = serializers.IntegerField(allow_null=True)


class TestEventThrottled(exceptions.APIException):
    """429 with our own message; DRF's handler sends `wait` as Retry-After."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, detail: str, *, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


@extend_schema(tags=["apps"], parameters=[APP_ID_PARAMETER])
class AppTestEventApi(APIView):
    """Thin: the rules (the per-app limit, an unreadable token) live in `delivery.outbox.trial_event`, as for
    the page."""

    @extend_schema(
        operation_id="apps_test_event",
        request=None,
        responses={
            200: TestEventOutputSerializer,
            409: OpenApiResponse(DETAIL_SCHEMA, description="Nothing was sent: the app's token cannot be decrypted "
                                 "with TOKEN_ENCRYPTION_KEY and must be re-entered."),
            429: OpenApiResponse(DETAIL_SCHEMA, description="The app has sent its test events for this minute "
                                 "(`TEST_EVENTS_PER_MINUTE`), or the API key its calls: wait `Retry-After` seconds."),
        },
        parameters=[OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429],
                                     description="Seconds to wait before trying again.")],
        description="Sign and send one synthetic event to Chartboost now, as the app's deliveries are sent "
        "(the first active mapping's item at level 1, else an Event ID 5 item labelled as a test, from a device "
        "id no real device has), and answer with the request (token masked) and what Chartboost said. "
        "Nothing is stored. An answer counts as a probe's for an open circuit.",
        examples=[
            OpenApiExample("Over the limit", response_only=True, status_codes=["429"],
                           value={"detail": "This app may send 5 test events a minute, and has sent them: try "
                                            "again in 42 s."}),
        ],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        try:
            result = test_event_send(app=app)
        except TestEventLimited as limited:
            raise TestEventThrottled(str(limited), wait=limited.retry_after) from None
        except TestEventRefused as refused:
            raise Conflict(str(refused)) from None
        body = {"delivered": result.delivered, "source": result.source, "verdict": result.verdict,
                "request": {"url": result.url, "headers": result.headers, "body": result.body},
                "latency_ms": result.latency_ms}
        return Response(TestEventOutputSerializer(body).data)
