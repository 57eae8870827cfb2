"""/api/v1/ routes for apps themselves (included by trackerui.urls); their mappings are mappings.api_urls'."""

from django.urls import path

from trackerui.dashboard import api

urlpatterns = [
    path("apps/", api.AppListCreateApi.as_view(), name="api-app-list"),
    path("apps/<int:app_id>/", api.AppDetailApi.as_view(), name="api-app-detail"),
]
