"""/api/v1/ routes for the organization's invitations (included by trackerui.urls)."""

from django.urls import path

from trackerui.accounts import api

urlpatterns = [
    path("invitations/", api.InvitationListCreateApi.as_view(), name="api-invitation-list"),
    path("invitations/<int:invitation_id>/", api.InvitationDetailApi.as_view(), name="api-invitation-detail"),
]
