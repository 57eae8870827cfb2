"""/api/v1/ routes for ingestion, deliveries (an app's and the search across apps), retry, recover, stats,
the event names, the test event, and erasure (included by trackerui.urls)."""

from django.urls import path

from delivery import api, api_erasure
from delivery.api_ingest import EventIngestView

urlpatterns = [
    path("apps/<int:app_id>/events/", EventIngestView.as_view(), name="api-app-events"),
    path("apps/<int:app_id>/event-names/", api.AppEventNamesApi.as_view(), name="api-app-event-names"),
    path("apps/<int:app_id>/deliveries/", api.AppDeliveryListApi.as_view(), name="api-delivery-list"),
    path("apps/<int:app_id>/recover/", api.AppRecoverApi.as_view(), name="api-app-recover"),
    path("apps/<int:app_id>/backfill/", api.AppBackfillApi.as_view(), name="api-app-backfill"),
    path("apps/<int:app_id>/simulate/", api.AppSimulateApi.as_view(), name="api-app-simulate"),
    path("apps/<int:app_id>/stats/", api.AppStatsApi.as_view(), name="api-app-stats"),
    path("deliveries/", api.DeliverySearchApi.as_view(), name="api-delivery-search"),
    path("apps/<int:app_id>/test-event/", api.AppTestEventApi.as_view(), name="api-app-test-event"),
    path("deliveries/<int:id>/", api.DeliveryDetailApi.as_view(), name="api-delivery-detail"),
    path("deliveries/<int:id>/retry/", api.DeliveryRetryApi.as_view(), name="api-delivery-retry"),
    path("devices/forget/", api_erasure.DeviceForgetApi.as_view(), name="api-device-forget"),
    # OpenDSR's paths, without a trailing slash.
    path("opendsr/requests", api_erasure.OpenDsrRequestApi.as_view(), name="api-opendsr-requests"),
    path("opendsr/requests/<uuid:subject_request_id>", api_erasure.OpenDsrRequestStatusApi.as_view(),
         name="api-opendsr-request"),
]
