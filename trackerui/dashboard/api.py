"""The REST API for apps: list, create, read, change and delete.

Here, above both apps, because an app's answer carries its delivery `circuit` (docs/design.md,
"The circuit") and its `health` (`delivery.health.app_problems`, the list every surface shows),
and deleting an app archives it (`trackerui.dashboard.services.app_archive`), which fails its
waiting deliveries. Each view reads its input with a small serializer that only checks types and
calls one service in `mappings.services`, where the model's `full_clean()` applies every rule, as
for the dashboard and the admin. An app's mappings and changes are `mappings.api`'s.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.health import ERROR, INFO, LEVEL_WORDS, WARNING, app_health
from delivery.outbox.circuit import circuit_of
from mappings.api import APP_ID_PARAMETER
from mappings.models import App, Platform
from mappings.selectors import app_get_for_request, apps_for_organization
from mappings.services import app_create, app_update
from trackerui.accounts import roles
from trackerui.accounts.selectors import organization_for_request
from trackerui.dashboard.services import app_archive
from trackerui.foundation.api import Pagination, paginated_response


class CircuitSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["closed", "open"],
                                    help_text="open: Chartboost keeps failing for this app, so one probe at a "
                                    "time is sent until it answers.")
    since = serializers.DateTimeField(allow_null=True, help_text="When the circuit last opened or closed.")
    next_probe_at = serializers.DateTimeField(allow_null=True, help_text="While open: when the next probe goes.")
    paused_until = serializers.DateTimeField(
        allow_null=True, help_text="Chartboost asked us to slow down (status 429): nothing is sent until then."
    )


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable code, e.g. `rejected`, `unmapped`, `circuit-open`, `s2s`.")
    severity = serializers.ChoiceField(
        choices=[ERROR, WARNING, INFO],
        help_text="error: the app is failing; warning: worth a look; info: shown, but it does not hurt delivery.",
    )
    message = serializers.CharField(help_text="The problem in plain words, as the dashboard says it.")


class HealthSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=list(LEVEL_WORDS),
        help_text="The worst severity among the problems that hurt delivery (error, warning); else ok, or idle "
        "when nothing was delivered or failed in the last 24 h. The dashboard's badge says the same.",
    )
    problems = ProblemSerializer(many=True, help_text="Every open problem, worst first.")


class _AppListSerializer(serializers.ListSerializer):
    """Reads the health of a whole page of apps at once (`app_health`), not app by app."""

    def to_representation(self, data: Any) -> list[Any]:
        apps = list(data.all() if isinstance(data, QuerySet) else data)
        self.child.context["health"] = app_health(apps)
        return super().to_representation(apps)


class AppOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    chartboost_app_id = serializers.CharField()
    chartboost_app_token_hint = serializers.CharField(
        help_text="The last characters of the saved token. The token itself is never shown."
    )
    delivery_enabled = serializers.BooleanField()
    s2s_confirmed = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    circuit = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta:
        list_serializer_class = _AppListSerializer

    @extend_schema_field(CircuitSerializer)
    def get_circuit(self, app: App) -> dict[str, Any]:
        return CircuitSerializer(circuit_of(app, timezone.now()).as_dict()).data

    @extend_schema_field(HealthSerializer)
    def get_health(self, app: App) -> dict[str, Any]:
        health = self.context.get("health") or app_health([app])
        return HealthSerializer(health[app.pk].as_dict()).data


class AppCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1–100 characters.")
    platform = serializers.ChoiceField(choices=Platform.choices)
    chartboost_app_id = serializers.CharField(help_text="24 hexadecimal characters.")
    chartboost_app_token = serializers.CharField(
        write_only=True, help_text="64 hexadecimal characters. Write-only: never returned."
    )
    delivery_enabled = serializers.BooleanField(default=True)
    s2s_confirmed = serializers.BooleanField(default=False)


class AppUpdateInputSerializer(AppCreateInputSerializer):
    chartboost_app_token = serializers.CharField(
        write_only=True,
        allow_blank=True,
        help_text="64 hexadecimal characters. Write-only. Leave it out (or send it blank) to keep the saved token.",
    )


def _apps_read(apps: QuerySet[App]) -> QuerySet[App]:
    # Each answer carries its circuit, read from the app's sending-state row.
    return apps.select_related("sending_state")


@extend_schema(tags=["apps"])
class AppListCreateApi(APIView):
    pagination_class = Pagination
    owner_actions = {"POST": roles.CREATE_APPS}

    @extend_schema(operation_id="apps_list", responses=AppOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        apps = apps_for_organization(organization_for_request(request)).order_by("name", "id")
        return paginated_response(request=request, view=self, queryset=_apps_read(apps),
                                  serializer_class=AppOutputSerializer)

    @extend_schema(
        operation_id="apps_create",
        request=AppCreateInputSerializer,
        responses={201: AppOutputSerializer},
        examples=[
            OpenApiExample(
                "An iOS game",
                request_only=True,
                value={
                    "name": "Puzzle Quest (iOS)",
                    "platform": "ios",
                    "chartboost_app_id": "4f7aa26ef77659d869000003",
                    "chartboost_app_token": "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac",
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = AppCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        app = app_create(organization=organization_for_request(request), **serializer.validated_data)
        return Response(AppOutputSerializer(_apps_read(App.objects.filter(pk=app.pk)).get()).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["apps"], parameters=[APP_ID_PARAMETER])
class AppDetailApi(APIView):
    owner_actions = {"DELETE": roles.DELETE_APPS}

    @extend_schema(operation_id="apps_retrieve", responses=AppOutputSerializer)
    def get(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        return Response(AppOutputSerializer(_apps_read(App.objects.filter(pk=app.pk)).get()).data)

    @extend_schema(
        operation_id="apps_partial_update",
        request=AppUpdateInputSerializer(partial=True),
        responses=AppOutputSerializer,
        description="Members may change `name`, `delivery_enabled` and `s2s_confirmed`; changing "
        "`chartboost_app_id` or `chartboost_app_token` takes an owner (or a full API key).",
        examples=[OpenApiExample("Pause delivery", request_only=True, value={"delivery_enabled": False})],
    )
    def patch(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        serializer = AppUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if roles.app_credentials_changed(app, serializer.validated_data):
            roles.api_owner_check(request, roles.CHANGE_APP_CREDENTIALS)
        app = app_update(app=app, **serializer.validated_data)
        return Response(AppOutputSerializer(_apps_read(App.objects.filter(pk=app.pk)).get()).data)

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
