"""Pages of the dashboard shell, which reads from both mappings and delivery."""

from django.urls import path

from trackerui import views

urlpatterns = [
    path("apps/", views.app_list, name="app-list"),
    path("apps/<int:app_id>/", views.app_detail, name="app-detail"),
]
