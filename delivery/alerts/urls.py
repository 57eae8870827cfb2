"""The alerts page, under /settings/alerts/ (included by trackerui.urls)."""

from django.urls import path

from delivery.alerts import views

urlpatterns = [
    path("", views.alert_channels, name="alert-channels"),
    path("threshold/", views.alert_threshold_view, name="alert-threshold"),
    path("<int:channel_id>/delete/", views.alert_channel_delete_view, name="alert-channel-delete"),
    path("<int:channel_id>/test/", views.alert_channel_test_view, name="alert-channel-test"),
]
