"""/api/v1/ routes for apps and mappings (included by trackerui.urls)."""

from django.urls import path

from mappings import api

urlpatterns = [
    path("apps/", api.AppListCreateApi.as_view(), name="api-app-list"),
    # apps/<int:app_id>/ is routed by trackerui.urls: deleting an app needs delivery (trackerui.api_apps).
    path("apps/<int:app_id>/mappings/", api.MappingListCreateApi.as_view(), name="api-mapping-list"),
    path("apps/<int:app_id>/mappings/<int:id>/", api.MappingDetailApi.as_view(), name="api-mapping-detail"),
]
