"""/api/v1/ routes for an app's mappings and changes (included by trackerui.urls)."""

from django.urls import path

from mappings import api

urlpatterns = [
    # apps/ and apps/<int:app_id>/ are trackerui.dashboard.api_urls': their answers carry the
    # delivery circuit, and deleting an app needs delivery (trackerui/dashboard/api.py).
    path("apps/<int:app_id>/changes/", api.AppChangesApi.as_view(), name="api-app-changes"),
    path("apps/<int:app_id>/mappings/", api.MappingListCreateApi.as_view(), name="api-mapping-list"),
    path("apps/<int:app_id>/mappings/copy/", api.MappingCopyApi.as_view(), name="api-mapping-copy"),
    path("apps/<int:app_id>/mappings/<int:id>/", api.MappingDetailApi.as_view(), name="api-mapping-detail"),
]
