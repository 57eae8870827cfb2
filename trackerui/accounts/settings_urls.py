"""Organization settings pages, under /settings/."""

from django.urls import path

from trackerui.accounts import views

urlpatterns = [
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:api_key_id>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
    path("members/", views.members, name="members"),
    path("members/leave/", views.member_leave, name="member-leave"),
    path("members/invitations/<int:invitation_id>/withdraw/", views.invitation_withdraw_view,
         name="invitation-withdraw"),
    path("members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
]
