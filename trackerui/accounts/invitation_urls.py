"""The invited user's side of invitations, under /invitations/: open to anyone signed in."""

from django.urls import path

from trackerui.accounts import views

urlpatterns = [
    path("", views.invitations, name="invitation-list"),
    path("<int:invitation_id>/accept/", views.invitation_accept_view, name="invitation-accept"),
    path("<int:invitation_id>/decline/", views.invitation_decline_view, name="invitation-decline"),
]
