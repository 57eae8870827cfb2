"""The app API's views as the product serves them: `mappings.api`'s, plus what needs delivery too.

Reading and changing an app are `mappings.api`'s views. Two things reach into delivery,
which `mappings` may not import, so they are added here, in the layer above both, and
`trackerui.urls` routes `/api/v1/apps/` and `/api/v1/apps/{app_id}/` to these classes:
- every app answer carries its delivery `circuit` (docs/design.md, "The circuit");
- deleting an app archives it (`trackerui.services.app_archive`), which fails its waiting
  deliveries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from delivery.outbox.circuit import circuit_of
from mappings import api as mappings_api
from mappings.models import App
from mappings.selectors import app_get_for_request
from trackerui.accounts import roles
from trackerui.services import app_archive


class CircuitSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["closed", "open"],
                                    help_text="open: Chartboost keeps failing for this app, so one probe at a "
                                    "time is sent until it answers.")
    since = serializers.DateTimeField(allow_null=True, help_text="When the circuit last opened or closed.")
    next_probe_at = serializers.DateTimeField(allow_null=True, help_text="While open: when the next probe goes.")
    paused_until = serializers.DateTimeField(
        allow_null=True, help_text="Chartboost asked us to slow down (status 429): nothing is sent until then."
    )


class AppOutputSerializer(mappings_api.AppOutputSerializer):
    circuit = serializers.SerializerMethodField()

    @extend_schema_field(CircuitSerializer)
    def get_circuit(self, app: App) -> dict[str, Any]:
        return CircuitSerializer(circuit_of(app, timezone.now()).as_dict()).data


class _WithCircuit:
    output_serializer_class = AppOutputSerializer

    def apps_read(self, apps: QuerySet[App]) -> QuerySet[App]:
        return apps.select_related("sending_state")


@extend_schema_view(
    get=extend_schema(responses=AppOutputSerializer(many=True)),
    post=extend_schema(responses={201: AppOutputSerializer}),
)
class AppListCreateApi(_WithCircuit, mappings_api.AppListCreateApi):
    pass


@extend_schema_view(
    get=extend_schema(responses=AppOutputSerializer),
    patch=extend_schema(responses=AppOutputSerializer),
)
@extend_schema(tags=["apps"], parameters=[mappings_api.APP_ID_PARAMETER])
class AppDetailApi(_WithCircuit, mappings_api.AppDetailApi):
    owner_actions = {"DELETE": roles.DELETE_APPS}

    @extend_schema(
        operation_id="apps_destroy",
        responses={204: None},
        description="Archives the app: it stops accepting events and sending, its waiting deliveries end "
        "`failed` (\"app deleted\"), its token is erased, and its Chartboost app ID is free again. "
        "It no longer appears in the API. Only an owner (or a full API key) may.",
    )
    def delete(self, request: Request, app_id: int) -> Response:
        app_archive(app=app_get_for_request(request, app_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
