"""/api/v1/ routes for alert channels and alerts (included by trackerui.urls)."""

from django.urls import path

from delivery.alerts import api

urlpatterns = [
    path("alert-channels/", api.AlertChannelListApi.as_view(), name="api-alert-channels"),
    path("alert-channels/<int:id>/", api.AlertChannelDetailApi.as_view(), name="api-alert-channel"),
    path("alert-channels/<int:id>/test/", api.AlertChannelTestApi.as_view(), name="api-alert-channel-test"),
    path("alerts/", api.AlertListApi.as_view(), name="api-alerts"),
]
