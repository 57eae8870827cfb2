"""REST API for the organization's invitations: owners list, send and withdraw them.

The answer to an invitation is the same whether or not its invitee has an account: the
matched user is never part of it. Answering an invitation is the invited user's, on the
dashboard (`/invitations/`), not an API key's.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trackerui.accounts import roles
from trackerui.accounts.models import Invitation
from trackerui.accounts.selectors import (
    invitation_get_for_organization,
    invitations_for_organization,
    organization_for_request,
)
from trackerui.accounts.services import invitation_create, invitation_withdraw
from trackerui.foundation.api import Conflict, Pagination, paginated_response

INVITATION_ID_PARAMETER = OpenApiParameter("invitation_id", int, OpenApiParameter.PATH,
                                           description="The invitation's `id`.")


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    invitee = serializers.CharField(help_text="The username or e-mail address as the owner typed it.")
    status = serializers.ChoiceField(source="current_status", choices=Invitation.Status.choices,
                                     help_text="A pending invitation past `expires_at` reads `expired`.")
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True, default=None,
                                       help_text="The owner who sent it; null when an API key did.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class InvitationCreateInputSerializer(serializers.Serializer):
    invitee = serializers.CharField(max_length=254, help_text="A username or an e-mail address.")


@extend_schema(tags=["members"])
class InvitationListCreateApi(APIView):
    pagination_class = Pagination
    owner_actions = {"GET": roles.MANAGE_MEMBERS, "POST": roles.MANAGE_MEMBERS}

    @extend_schema(operation_id="invitations_list", responses=InvitationOutputSerializer(many=True),
                   description="The organization's invitations, newest first, whatever their status.")
    def get(self, request: Request) -> Response:
        invitations = invitations_for_organization(organization_for_request(request))
        return paginated_response(request=request, view=self, queryset=invitations,
                                  serializer_class=InvitationOutputSerializer)

    @extend_schema(
        operation_id="invitations_create",
        request=InvitationCreateInputSerializer,
        responses={201: InvitationOutputSerializer},
        description="Invite someone by username or e-mail. The answer is the same whether or not such a "
        "user exists; a user who does sees the invitation on their next visit, and accepts or declines it.",
    )
    def post(self, request: Request) -> Response:
        serializer = InvitationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = invitation_create(
            organization=organization_for_request(request), invitee=serializer.validated_data["invitee"],
            invited_by=request.user, answer_url=request.build_absolute_uri(reverse("invitation-list")),
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["members"], parameters=[INVITATION_ID_PARAMETER])
class InvitationDetailApi(APIView):
    owner_actions = {"GET": roles.MANAGE_MEMBERS, "DELETE": roles.MANAGE_MEMBERS}

    @extend_schema(operation_id="invitations_retrieve", responses=InvitationOutputSerializer)
    def get(self, request: Request, invitation_id: int) -> Response:
        invitation = invitation_get_for_organization(organization_for_request(request), invitation_id)
        return Response(InvitationOutputSerializer(invitation).data)

    @extend_schema(operation_id="invitations_withdraw", responses={200: InvitationOutputSerializer},
                   description="Withdraw a pending invitation; 409 once it was answered, withdrawn or expired.")
    def delete(self, request: Request, invitation_id: int) -> Response:
        invitation = invitation_get_for_organization(organization_for_request(request), invitation_id)
        try:
            invitation = invitation_withdraw(invitation=invitation)
        except ValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
        return Response(InvitationOutputSerializer(invitation).data)
