"""`/api/v1/apps/{app_id}/write-keys/`: an app's write keys, for the Segment-compatible API (delivery/api_segment.py).

Anyone of the organization may list them (prefix and name only); owners alone create and
revoke (trackerui/accounts/roles.py). The app comes first, so another organization's app is a
404 for everyone, and a member's attempt on one of ours a 403.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mappings.api import APP_ID_PARAMETER
from mappings.selectors import app_get_for_request, write_key_get_for_app, write_keys_for_app
from mappings.services import write_key_create, write_key_revoke
from trackerui.accounts import roles
from trackerui.foundation.api import Pagination, paginated_response

WRITE_KEY_ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The write key's `id`.")


class WriteKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    app_id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's public start, to tell keys apart: `cbw_ab12cd34`.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    revoked_at = serializers.DateTimeField(allow_null=True)


class WriteKeyCreatedSerializer(WriteKeyOutputSerializer):
    key = serializers.CharField(help_text="The write key itself. Shown this once: only its hash is kept.")


class WriteKeyInputSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                 help_text="What the key is for, e.g. \"Segment production\".")


@extend_schema(tags=["write keys"], parameters=[APP_ID_PARAMETER])
class WriteKeyListCreateApi(APIView):
    pagination_class = Pagination

    @extend_schema(operation_id="write_keys_list", responses=WriteKeyOutputSerializer(many=True))
    def get(self, request: Request, app_id: int) -> Response:
        keys = write_keys_for_app(app_get_for_request(request, app_id))
        return paginated_response(request=request, view=self, queryset=keys, serializer_class=WriteKeyOutputSerializer)

    @extend_schema(
        operation_id="write_keys_create",
        summary="Create a write key (owners)",
        description="A key for Segment's or RudderStack's SDKs and Webhooks destinations: it may only send "
        "events to this app, through `POST /v1/track` and `POST /v1/batch`. The answer carries the key once.",
        request=WriteKeyInputSerializer,
        responses={201: WriteKeyCreatedSerializer},
        examples=[OpenApiExample("Segment", request_only=True, value={"name": "Segment production"})],
    )
    def post(self, request: Request, app_id: int) -> Response:
        app = app_get_for_request(request, app_id)
        roles.api_owner_check(request, roles.CREATE_WRITE_KEYS)
        serializer = WriteKeyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created_by = request.user if request.user.is_authenticated else None
        write_key, raw_key = write_key_create(app=app, created_by=created_by, **serializer.validated_data)
        body = {**WriteKeyOutputSerializer(write_key).data, "key": raw_key}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["write keys"], parameters=[APP_ID_PARAMETER, WRITE_KEY_ID_PARAMETER])
class WriteKeyDetailApi(APIView):
    @extend_schema(operation_id="write_keys_destroy", summary="Revoke a write key (owners)", responses={204: None})
    def delete(self, request: Request, app_id: int, id: int) -> Response:
        write_key = write_key_get_for_app(app_get_for_request(request, app_id), id)
        roles.api_owner_check(request, roles.REVOKE_WRITE_KEYS)
        write_key_revoke(write_key=write_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
