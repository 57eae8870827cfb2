"""`POST /api/v1/apps/{app_id}/events/`: tracked events in.

The view reads the body itself: its size is checked before anything parses it, then
its type, and every kind of bad body answers 400, 413 or 415, never 500 (the order of
trackerui/foundation/api_errors.py). The events are then checked
and stored by `events_ingest`.
"""

from __future__ import annotations

from typing import IO, Any

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from drf_spectacular.utils import inline_serializer as schema_of
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.ingest.schema import (
    MAX_EVENT_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PLATFORM_LENGTH,
    MAX_SDK_VERSION_LENGTH,
    json_may_hold_control_characters,
)
from delivery.ingest.service import OUTCOMES, REJECTED, events_ingest
from mappings.selectors import app_get_for_request
from trackerui.foundation.api_errors import body_read, declared_size_check, json_document_parse
from trackerui.foundation.api_schema import FIELD_ERRORS_SCHEMA

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS = 1000
# A sender that sends no Content-Type at all is read as JSON, as it always was; one that
# names another type is told so (415) rather than guessed at.
JSON_MEDIA_TYPE = "application/json"


def body_media_type_check(request: HttpRequest) -> None:
    """Raise UnsupportedMediaType (415) unless the body is JSON in UTF-8, or its type is not said."""
    if not request.META.get("CONTENT_TYPE"):
        return
    charset = request.content_params.get("charset", "utf-8").lower()
    if request.content_type != JSON_MEDIA_TYPE or charset not in ("utf-8", "utf8"):
        raise exceptions.UnsupportedMediaType(
            request.META["CONTENT_TYPE"][:100],
            detail=f"Send the events as {JSON_MEDIA_TYPE} (UTF-8), not {request.META['CONTENT_TYPE'][:100]!r}.",
        )


class IngestBodyParser(BaseParser):
    """The body as bytes, at most 1 MiB, for `events_from_body` to read.

    DRF may parse the body before the view runs (the session's CSRF check reads
    `request.POST`), so the view takes it from `request.data` rather than from the stream.
    """

    media_type = JSON_MEDIA_TYPE

    def parse(self, stream: IO[bytes] | None, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> bytes:
        return body_read(stream, MAX_BODY_BYTES)


def body_of(request: Request) -> bytes:
    """The raw body, whether DRF read it (a JSON Content-Type) or not (none, or no Content-Length)."""
    # DRF reads no body without a Content-Type, and none without a Content-Length.
    data = request.data if request.content_type else None
    if isinstance(data, bytes):
        return data
    return body_read(request._request, MAX_BODY_BYTES)


def events_from_body(body: bytes) -> list[Any]:
    """The events a body carries: one event object, or `{"events": [...]}` with 1-1000."""
    document = json_document_parse(body)
    if not isinstance(document, dict):
        raise exceptions.ParseError('The body must be a JSON object: one event, or {"events": [...]}.')
    if "events" not in document:
        return [document]
    events = document["events"]
    if not isinstance(events, list):
        raise exceptions.ValidationError({"events": ["Must be a list of events."]})
    if not events:
        raise exceptions.ValidationError({"events": ["Send at least one event."]})
    if len(events) > MAX_EVENTS:
        raise exceptions.ValidationError({"events": [f"At most {MAX_EVENTS} events per request (got {len(events)})."]})
    return events


_EVENT = schema_of(
    "TrackedEventIn",
    {
        "event_id": serializers.CharField(
            max_length=MAX_EVENT_ID_LENGTH, help_text="Your id for this occurrence; unique per app."
        ),
        "name": serializers.CharField(
            max_length=MAX_NAME_LENGTH, help_text="The event's name, matched exactly by mappings."
        ),
        "timestamp": serializers.IntegerField(
            min_value=1,
            help_text="Unix seconds; at most 1 hour in the future, and not older than `DELIVERY_RETENTION_DAYS` "
            "(30 days by default).",
        ),
        "platform": serializers.CharField(
            max_length=MAX_PLATFORM_LENGTH, help_text="The device OS, e.g. \"iOS 17.4\"."
        ),
        "identifiers": serializers.DictField(
            child=serializers.CharField(),
            help_text="iOS apps: `ifa`. Android and Amazon apps: `gaid` (UUID form) and/or `uuid`.",
        ),
        "properties": serializers.DictField(
            required=False, help_text="Values the mappings read (levels, description). At most 16 KiB as JSON."
        ),
        "sdk_version": serializers.CharField(required=False, max_length=MAX_SDK_VERSION_LENGTH),
        "limit_ad_tracking": serializers.BooleanField(
            required=False, help_text="When true the event is stored but its deliveries are blocked, never sent."
        ),
    },
)
_BATCH = schema_of("TrackedEventBatchIn", {"events": serializers.ListField(child=_EVENT, min_length=1,
                                                                            max_length=MAX_EVENTS)})
_ANSWER = schema_of(
    "IngestAnswer",
    {
        "results": serializers.ListField(
            child=schema_of(
                "IngestResult",
                {
                    "event_id": serializers.JSONField(
                        allow_null=True,
                        help_text="The event_id as sent (a rejected event may have sent a number); "
                        "null when it was missing or cannot be echoed.",
                    ),
                    "status": serializers.ChoiceField(choices=list(OUTCOMES)),
                    "deliveries": serializers.ListField(
                        child=schema_of(
                            "IngestDelivery",
                            {
                                "id": serializers.IntegerField(),
                                "event_field": serializers.IntegerField(),
                                "status": serializers.CharField(),
                            },
                        )
                    ),
                    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
                },
            )
        ),
        **{outcome: serializers.IntegerField() for outcome in OUTCOMES},
    },
)
_ONE_EVENT = {
    "event_id": "b7a1c9e0-level-12",
    "name": "level_up",
    "timestamp": 1735689600,
    "platform": "iOS 17.4",
    "identifiers": {"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"},
    "properties": {"level": 12, "world": "Lunar Caverns"},
    "sdk_version": "3.2.3",
}


# Every event rejected: the same answer body as a 202, or, for a body that is no list of events
# at all, field errors. (Both are objects; only the answer has `results`, a list of objects.)
_REFUSED_SCHEMA = {"anyOf": [{"$ref": "#/components/schemas/IngestAnswer"}, FIELD_ERRORS_SCHEMA]}


def answer_status(answer: dict[str, Any]) -> int:
    """400 when the body's every event was rejected, so a sender that reads only the status learns that
    nothing was taken; else 202 (at least one event accepted, stored unmapped, or a duplicate)."""
    if answer[REJECTED] == len(answer["results"]):
        return status.HTTP_400_BAD_REQUEST
    return status.HTTP_202_ACCEPTED


class EventIngestView(APIView):
    """Thin: size, access, body type and shape; everything about events is in `events_ingest`."""

    throttle_scope = "ingest"
    # The one view an `ingest` API key may call (trackerui.accounts.authentication).
    accepts_ingest_keys = True
    # Each event's event_id makes a repeat harmless already (trackerui/accounts/idempotency.py).
    takes_idempotency_keys = False
    # Read by trackerui.foundation.api_errors, which checks the Content-Length before authentication.
    max_body_bytes = MAX_BODY_BYTES
    parser_classes = [IngestBodyParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Also here, for a view called without the middleware in front of it.
        declared_size_check(request._request, MAX_BODY_BYTES)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        tags=["events"],
        operation_id="events_ingest",
        summary="Ingest tracked events",
        description=(
            "One event object, or `{\"events\": [...]}` with 1-1000 events, at most 1 MiB. Each event is "
            "answered on its own: `accepted` (deliveries created), `unmapped` (stored, no active mapping), "
            "`duplicate` (its event_id was seen before; nothing created) or `rejected` (with field errors; "
            "nothing stored). Unknown keys in an event are ignored. The answer is 202 when any event was "
            "accepted, stored unmapped or a duplicate; when every event was rejected (one event, or a whole "
            "batch), the same answer body comes with 400."
        ),
        request=PolymorphicProxySerializer(
            component_name="TrackedEventsIn", serializers=[_EVENT, _BATCH], resource_type_field_name=None
        ),
        responses={
            202: _ANSWER,
            400: OpenApiResponse(
                _REFUSED_SCHEMA,
                description="Every event was rejected: the same answer body as a 202, each result `rejected` "
                "with its errors. Or the body is not JSON, not an object, or not 1-1000 events: field errors "
                "or `{\"detail\": ...}`.",
            ),
            413: OpenApiResponse(description="The body is over 1 MiB."),
            415: OpenApiResponse(description="A Content-Type other than application/json (UTF-8). "
                                 "A request without one is read as JSON."),
        },
        examples=[
            OpenApiExample("One event", value=_ONE_EVENT, request_only=True),
            OpenApiExample(
                "A batch",
                value={"events": [
                    _ONE_EVENT,
                    {**_ONE_EVENT, "event_id": "b7a1c9e0-level-13", "properties": {"level": 13}},
                    {**_ONE_EVENT, "event_id": "b7a1c9e0-level-x", "properties": {"world": "Lunar Caverns"}},
                ]},
                request_only=True,
            ),
            OpenApiExample(
                "The answer to the batch",
                value={
                    "results": [
                        {"event_id": "b7a1c9e0-level-12", "status": "accepted",
                         "deliveries": [{"id": 981, "event_field": 1, "status": "pending"}], "errors": {}},
                        {"event_id": "b7a1c9e0-level-13", "status": "accepted",
                         "deliveries": [{"id": 982, "event_field": 1, "status": "pending"}], "errors": {}},
                        {"event_id": "b7a1c9e0-level-x", "status": "rejected", "deliveries": [],
                         "errors": {"properties.level": ["Event ID 1 (Highest level reached) reads main_level "
                                                         "from property “level”: a non-zero integer (it is "
                                                         "missing)."]}},
                    ],
                    "accepted": 2,
                    "duplicate": 0,
                    "unmapped": 0,
                    "rejected": 1,
                },
                response_only=True,
                status_codes=["202"],
            ),
            OpenApiExample(
                "Every event rejected",
                value={
                    "results": [
                        {"event_id": "b7a1c9e0-level-x", "status": "rejected", "deliveries": [],
                         "errors": {"properties.level": ["Event ID 1 (Highest level reached) reads main_level "
                                                         "from property “level”: a non-zero integer (it is "
                                                         "missing)."]}},
                    ],
                    "accepted": 0,
                    "duplicate": 0,
                    "unmapped": 0,
                    "rejected": 1,
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request, app_id: int) -> Response:
        body_media_type_check(request._request)
        body = body_of(request)
        events = events_from_body(body)
        app = app_get_for_request(request, app_id)
        answer = events_ingest(app=app, events=events, scan_characters=json_may_hold_control_characters(body))
        return Response(answer, status=answer_status(answer))
