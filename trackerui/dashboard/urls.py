"""Pages of the dashboard shell, which reads from both mappings and delivery: the apps list and an
app's tabs (its Deliveries tab is delivery's page, delivery/urls.py)."""

from django.urls import path

from trackerui.dashboard import views

urlpatterns = [
    path("apps/", views.app_list, name="app-list"),
    path("apps/<int:app_id>/", views.app_detail, name="app-detail"),
    path("apps/<int:app_id>/mappings/", views.app_mappings, name="app-mappings"),
    path("apps/<int:app_id>/settings/", views.app_settings, name="app-settings"),
    path("apps/<int:app_id>/delete/", views.app_delete, name="app-delete"),
]
