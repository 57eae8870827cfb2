"""Organization settings pages, under /settings/."""

from django.urls import path

from trackerui.accounts import views

urlpatterns = [
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:api_key_id>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
]
