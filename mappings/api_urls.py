"""/api/v1/ routes for an app's mappings, write keys and changes (included by trackerui.urls)."""

from django.urls import path

from mappings import api
from mappings.api_write_keys import WriteKeyDetailApi, WriteKeyListCreateApi

urlpatterns = [
    # apps/ and apps/<int:app_id>/ are trackerui.dashboard.api_urls': their answers carry the
    # delivery circuit, and deleting an app needs delivery (trackerui/dashboard/api.py).
    path("apps/<int:app_id>/changes/", api.AppChangesApi.as_view(), name="api-app-changes"),
    path("apps/<int:app_id>/mappings/", api.MappingListCreateApi.as_view(), name="api-mapping-list"),
    path("apps/<int:app_id>/mappings/copy/", api.MappingCopyApi.as_view(), name="api-mapping-copy"),
    path("apps/<int:app_id>/mappings/<int:id>/", api.MappingDetailApi.as_view(), name="api-mapping-detail"),
    path("apps/<int:app_id>/write-keys/", WriteKeyListCreateApi.as_view(), name="api-write-key-list"),
    path("apps/<int:app_id>/write-keys/<int:id>/", WriteKeyDetailApi.as_view(), name="api-write-key-detail"),
]
