"""Dashboard pages for deliveries, and /healthz and /metrics, included at the site root by trackerui.urls."""

from django.urls import path

from delivery import ops_views, views
from delivery.export import AppDeliveriesExportView

urlpatterns = [
    path("apps/<int:app_id>/deliveries/", views.app_deliveries, name="app-deliveries"),
    path("apps/<int:app_id>/deliveries/export.csv", AppDeliveriesExportView.as_view(), name="app-deliveries-export"),
    path("apps/<int:app_id>/recover/", views.app_recover, name="app-recover"),
    path("apps/<int:app_id>/test-event/", views.app_test_event, name="app-test-event"),
    path("deliveries/", views.delivery_search, name="delivery-search"),
    path("deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:delivery_id>/retry/", views.delivery_retry_view, name="delivery-retry"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
]
