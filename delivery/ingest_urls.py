"""The ingestion route, included under /api/v1/ by trackerui/urls.py."""

from django.urls import path

from delivery.api_ingest import EventIngestView

urlpatterns = [
    path("apps/<int:app_id>/events/", EventIngestView.as_view(), name="app-events"),
]
