"""REST API for alert channels and the alerts sent to them. Thin: the rules live in channels.py and dispatch.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.alerts.channels import alert_channel_create, alert_channel_delete, alert_channel_get
from delivery.alerts.dispatch import alert_test_send
from delivery.alerts.models import Alert, AlertChannel
from trackerui.accounts import roles
from trackerui.accounts.selectors import organization_for_request
from trackerui.foundation.api import Pagination, paginated_response

CHANNEL_ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The channel's `id`.")


class ChannelInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertChannel.Kind.choices)
    target = serializers.CharField(max_length=500, help_text="E-mail addresses (comma-separated) for `email`; "
                                   "the URL to post to for `webhook` and `slack` (https, to a public address).")


class ChannelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    target = serializers.CharField()
    created_at = serializers.DateTimeField()


class ChannelCreatedSerializer(ChannelOutputSerializer):
    secret = serializers.CharField(
        allow_blank=True, help_text="A webhook's signing secret (`whsec_…`), shown only in this answer; "
        "empty for other kinds.")


class AlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel_id = serializers.IntegerField()
    app_id = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(help_text="The condition, `recovered` or `test`.")
    status = serializers.ChoiceField(choices=Alert.Status.choices)
    answer = serializers.CharField(help_text="What the channel last said.")
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    message = serializers.JSONField()


class TestAlertOutputSerializer(AlertOutputSerializer):
    delivered = serializers.BooleanField()
    http_status = serializers.IntegerField(allow_null=True)


@extend_schema(tags=["alerts"])
class AlertChannelListApi(APIView):
    pagination_class = Pagination
    owner_actions = {"POST": roles.MANAGE_ALERT_CHANNELS}

    @extend_schema(operation_id="alert_channels_list", responses=ChannelOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        channels = AlertChannel.objects.filter(organization=organization_for_request(request)).order_by("id")
        return paginated_response(request=request, view=self, queryset=channels,
                                  serializer_class=ChannelOutputSerializer)

    @extend_schema(
        operation_id="alert_channels_create", request=ChannelInputSerializer,
        responses={201: ChannelCreatedSerializer},
        description="Only an owner (or a full API key) may. A webhook's `secret` is in this answer only.",
        examples=[OpenApiExample("A webhook", request_only=True,
                                 value={"kind": "webhook", "target": "https://ops.example.com/hooks/cb"})],
    )
    def post(self, request: Request) -> Response:
        serializer = ChannelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = alert_channel_create(organization=organization_for_request(request), **serializer.validated_data)
        body = {**ChannelOutputSerializer(created.channel).data, "secret": created.secret}
        response = Response(ChannelCreatedSerializer(body).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(tags=["alerts"], parameters=[CHANNEL_ID_PARAMETER])
class AlertChannelDetailApi(APIView):
    owner_actions = {"DELETE": roles.MANAGE_ALERT_CHANNELS}

    @extend_schema(operation_id="alert_channels_destroy", responses={204: None})
    def delete(self, request: Request, id: int) -> Response:
        alert_channel_delete(channel=alert_channel_get(organization_for_request(request), id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["alerts"], parameters=[CHANNEL_ID_PARAMETER])
class AlertChannelTestApi(APIView):
    @extend_schema(operation_id="alert_channels_test", request=None, responses=TestAlertOutputSerializer,
                   description="Send a test alert to the channel now and answer with what it said. Tried once.")
    def post(self, request: Request, id: int) -> Response:
        alert = alert_test_send(alert_channel_get(organization_for_request(request), id))
        last = alert.attempts.order_by("-number").first()
        body = {**AlertOutputSerializer(alert).data, "delivered": alert.status == Alert.Status.DELIVERED,
                "http_status": last.http_status if last else None}
        return Response(TestAlertOutputSerializer(body).data)


@extend_schema(tags=["alerts"])
class AlertListApi(APIView):
    pagination_class = Pagination

    @extend_schema(operation_id="alerts_list", responses=AlertOutputSerializer(many=True),
                   description="The alerts sent to the organization's channels, newest first.")
    def get(self, request: Request) -> Response:
        alerts = Alert.objects.filter(channel__organization=organization_for_request(request)).order_by("-id")
        return paginated_response(request=request, view=self, queryset=alerts, serializer_class=AlertOutputSerializer)
