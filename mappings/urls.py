"""Dashboard pages for apps and mappings.

The apps list and an app's Overview, Mappings and Settings tabs are the shell's (trackerui.dashboard.urls):
they show delivery panels. The actions below redirect to the tab their form is on.
"""

from django.urls import path

from mappings import views

urlpatterns = [
    path("apps/new/", views.app_new, name="app-new"),
    path("apps/<int:app_id>/edit/", views.app_edit, name="app-edit"),
    path("apps/<int:app_id>/s2s-confirm/", views.app_s2s_confirm, name="app-s2s-confirm"),
    path("apps/<int:app_id>/changes/", views.app_changes_view, name="app-changes"),
    path("apps/<int:app_id>/delivery/", views.app_delivery_toggle, name="app-delivery-toggle"),
    path("apps/<int:app_id>/mappings/new/", views.mapping_new, name="mapping-new"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/edit/", views.mapping_edit, name="mapping-edit"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/delete/", views.mapping_delete_view, name="mapping-delete"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/toggle/", views.mapping_toggle, name="mapping-toggle"),
]
