"""REST API for an app's mappings and its changes. (The apps themselves: trackerui/dashboard/api.py.)

Each view checks access (another organization's object is a 404), reads its input
with a small serializer that only checks types, and calls one service in
`mappings.services`, where the model's `full_clean()` applies every rule, exactly as for
the dashboard and the admin. Django validation errors become 400 field errors in
`trackerui.foundation.api.exception_handler`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mappings.models import INT32_MAX, INT32_MIN, Mapping
from mappings.selectors import app_changes, app_get_for_organization, app_get_for_request, mapping_get_for_app
from mappings.services import (
    CLASHED,
    COPIED,
    MappingCopied,
    mapping_create,
    mapping_delete,
    mapping_update,
    mappings_copy,
)
from trackerui.accounts.audit import Action, ActorType, Source
from trackerui.foundation.api import Pagination, paginated_response

APP_ID_PARAMETER = OpenApiParameter("app_id", int, OpenApiParameter.PATH, description="The app's `id`.")
MAPPING_ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The mapping's `id`.")


class MappingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    app_id = serializers.IntegerField()
    event_name = serializers.CharField()
    event_field = serializers.IntegerField(min_value=1, max_value=5, help_text="Chartboost's Event ID, 1–5.")
    event_label = serializers.CharField(
        source="label", help_text="The `event_label` sent to Chartboost: the custom label, else the event name."
    )
    event_label_is_default = serializers.SerializerMethodField(
        help_text="True while the label is the event name: no custom label saved, or one equal to the event name."
    )
    main_level_property = serializers.CharField()
    main_level_value = serializers.IntegerField()
    sub_level_property = serializers.CharField()
    sub_level_value = serializers.IntegerField()
    description_property = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_event_label_is_default(self, mapping: Mapping) -> bool:
        return not mapping.label_is_overridden


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 5})
class EventFieldField(serializers.IntegerField):
    """Documented as 1–5; the model checks it, with the same message the dashboard shows.

    Integers beyond the 32-bit columns are a type error here, not a 500.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=INT32_MIN, max_value=INT32_MAX, **kwargs)


@extend_schema_field({"type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX})
class Int32Field(serializers.IntegerField):
    """Documented as 32-bit; the model's validators refuse the rest, with the dashboard's message."""


class BlankableCharField(serializers.CharField):
    """An optional text field where null means the same as blank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, allow_null=True, required=False, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class MappingInputSerializer(serializers.Serializer):
    event_name = serializers.CharField(help_text="The tracked event's name, matched exactly. 1–255 characters.")
    event_field = EventFieldField(help_text="Chartboost's Event ID, 1–5. One mapping per Event ID.")
    event_label = BlankableCharField(
        help_text="A custom `event_label`. Send an empty string (or null) to go back to the default, "
        "which is the event name."
    )
    main_level_property = BlankableCharField(
        help_text="Read `main_level` from this event property (a non-zero integer). Empty: send `main_level_value`."
    )
    main_level_value = Int32Field(required=False)
    sub_level_property = BlankableCharField(
        help_text="Read `sub_level` from this event property (an integer ≥ 0); missing: send `sub_level_value`."
    )
    sub_level_value = Int32Field(required=False)
    description_property = BlankableCharField(help_text="Send this event property as `description` when present.")
    description = BlankableCharField(help_text="The fixed `description` when the property is absent.")
    active = serializers.BooleanField(required=False)


MAPPING_EXAMPLE = {
    "event_name": "level_complete",
    "event_field": 1,
    "event_label": "Highest level puzzle solved",
    "main_level_property": "level",
    "sub_level_property": "stage",
    "description_property": "level_name",
}
MAPPING_OUTPUT_EXAMPLE = {
    "id": 7,
    "app_id": 3,
    "event_name": "level_complete",
    "event_field": 1,
    "event_label": "Highest level puzzle solved",
    "event_label_is_default": False,
    "main_level_property": "level",
    "main_level_value": 1,
    "sub_level_property": "stage",
    "sub_level_value": 0,
    "description_property": "level_name",
    "description": "",
    "active": True,
    "created_at": "2025-03-01T12:00:00Z",
    "updated_at": "2025-03-01T12:00:00Z",
}


@extend_schema(tags=["mappings"], parameters=[APP_ID_PARAMETER])
class MappingListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(operation_id="mappings_list", responses=MappingOutputSerializer(many=True))
    def get(self, request: Request, app_id: int) -> Response:
        mappings = app_get_for_request(request, app_id).mappings.order_by("event_field", "id")
        return paginated_response(
            request=request, view=self, queryset=mappings, serializer_class=MappingOutputSerializer
        )

    @extend_schema(
        operation_id="mappings_create",
        request=MappingInputSerializer,
        responses={201: MappingOutputSerializer},
        examples=[
            OpenApiExample("Highest level reached (Event ID 1)", request_only=True, value=MAPPING_EXAMPLE),
            OpenApiExample(
                "Tutorial completed (Event ID 5)",
                request_only=True,
                value={
                    "event_name": "tutorial_complete",
                    "event_field": 5,
                    "event_label": "FTUE completed?",
                    "description": "Tutorial Completed",
                },
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=MAPPING_OUTPUT_EXAMPLE),
            OpenApiExample(
                "Event ID already taken",
                response_only=True,
                status_codes=["400"],
                value={"event_field": ["Event ID 1 is already mapped to “level_up” in this app. ..."]},
            ),
        ],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = MappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = mapping_create(app=app, **serializer.validated_data)
        return Response(MappingOutputSerializer(mapping).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["mappings"], parameters=[APP_ID_PARAMETER, MAPPING_ID_PARAMETER])
class MappingDetailApi(APIView):
    def _mapping(self, request: Request, app_id: int, mapping_id: int) -> Mapping:
        return mapping_get_for_app(app_get_for_request(request, app_id), mapping_id)

    @extend_schema(
        operation_id="mappings_retrieve",
        responses=MappingOutputSerializer,
        examples=[OpenApiExample("A mapping", response_only=True, value=MAPPING_OUTPUT_EXAMPLE)],
    )
    def get(self, request: Request, app_id: int, id: int) -> Response:
        return Response(MappingOutputSerializer(self._mapping(request, app_id, id)).data)

    @extend_schema(
        operation_id="mappings_partial_update",
        request=MappingInputSerializer(partial=True),
        responses=MappingOutputSerializer,
        examples=[
            OpenApiExample("Override the label", request_only=True, value={"event_label": "Highest level solved"}),
            OpenApiExample("Reset the label to the event name", request_only=True, value={"event_label": ""}),
            OpenApiExample("Pause the mapping", request_only=True, value={"active": False}),
        ],
    )
    def patch(self, request: Request, app_id: int, id: int) -> Response:
        mapping = self._mapping(request, app_id, id)
        serializer = MappingInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        mapping = mapping_update(mapping=mapping, **serializer.validated_data)
        return Response(MappingOutputSerializer(mapping).data)

    @extend_schema(operation_id="mappings_destroy", responses={204: None})
    def delete(self, request: Request, app_id: int, id: int) -> Response:
        mapping_delete(mapping=self._mapping(request, app_id, id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MappingCopyInputSerializer(serializers.Serializer):
    from_app = serializers.IntegerField(
        min_value=1, max_value=INT32_MAX,
        help_text="The `id` of another app of your organization whose mappings are copied into this one.",
    )


class MappingCopiedSerializer(serializers.Serializer):
    event_field = serializers.IntegerField(help_text="The Event ID of the source app's mapping.")
    event_name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[COPIED, CLASHED],
        help_text="`copied`, or `clashed`: this app refused it (e.g. the Event ID is already mapped), "
        "and nothing was changed.",
    )
    mapping = MappingOutputSerializer(allow_null=True, help_text="The new mapping, when copied.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Why it clashed, per field."
    )


class MappingCopyOutputSerializer(serializers.Serializer):
    copied = serializers.IntegerField()
    clashed = serializers.IntegerField()
    results = MappingCopiedSerializer(many=True, help_text="One per mapping of the source app, by Event ID.")


def copy_answer(outcomes: list[MappingCopied]) -> dict[str, Any]:
    return {
        "copied": sum(outcome.status == COPIED for outcome in outcomes),
        "clashed": sum(outcome.status == CLASHED for outcome in outcomes),
        "results": outcomes,
    }


@extend_schema(tags=["mappings"], parameters=[APP_ID_PARAMETER])
class MappingCopyApi(APIView):
    @extend_schema(
        operation_id="mappings_copy",
        request=MappingCopyInputSerializer,
        responses={200: MappingCopyOutputSerializer},
        description="Copy another app's mappings (the other platform's build of the same game) into this "
        "app, each through the same rules and audit trail as a new mapping. An Event ID already mapped "
        "here clashes and is left as it is. Another organization's app answers 404.",
        examples=[OpenApiExample("From the iOS build", request_only=True, value={"from_app": 3})],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = MappingCopyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        from_app = app_get_for_organization(app.organization, serializer.validated_data["from_app"])
        outcomes = mappings_copy(app=app, from_app=from_app)
        return Response(MappingCopyOutputSerializer(copy_answer(outcomes)).data)


# What an app's audit trail lists (mappings.selectors.app_changes): itself, its mappings, its write keys.
CHANGE_OBJECTS = ["app", "mapping", "write_key"]


class ChangeActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ActorType.choices)
    name = serializers.CharField(help_text="The username, the API key (its prefix and name), or `system`.")


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's name, as in the app or mapping answers. The token "
                                  "shows as `chartboost_app_token_hint`: the audit trail never holds the token.")
    before = serializers.JSONField(allow_null=True, help_text="null when the object was created.")
    after = serializers.JSONField(allow_null=True, help_text="null when the object was deleted.")


class ChangeSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = ChangeActorSerializer()
    source = serializers.ChoiceField(choices=Source.choices)
    object = serializers.ChoiceField(source="object_type", choices=CHANGE_OBJECTS)
    object_id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=Action.choices, help_text="`archived`: the app was deleted.")
    changes = FieldChangeSerializer(many=True, help_text="Created: every field. Changed: the fields that changed.")


@extend_schema(tags=["apps"], parameters=[APP_ID_PARAMETER])
class AppChangesApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="apps_changes_list",
        responses=ChangeSerializer(many=True),
        description="The app's audit trail, newest first: its own changes and its mappings', with when, "
        "who, from where, and each field before and after.",
    )
    def get(self, request: Request, app_id: int) -> Response:
        changes = app_changes(app_get_for_request(request, app_id))
        return paginated_response(request=request, view=self, queryset=changes, serializer_class=ChangeSerializer)
