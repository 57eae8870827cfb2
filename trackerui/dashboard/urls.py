"""Every page of the apps: the list, a new app, and each app's tabs and actions.

One URLconf for the whole feature. The apps list and an app's Overview, Mappings and Settings
tabs are the shell's (they show delivery panels); the forms and actions are mappings' views, the
Deliveries tab, its export, recovery and the test event delivery's. Each action redirects to the
tab its form is on.
"""

from django.urls import path

import delivery.views
import mappings.views
from delivery.export import AppDeliveriesExportView
from trackerui.dashboard import views

urlpatterns = [
    path("apps/", views.app_list, name="app-list"),
    path("apps/new/", mappings.views.app_new, name="app-new"),
    path("apps/<int:app_id>/", views.app_detail, name="app-detail"),
    path("apps/<int:app_id>/mappings/", views.app_mappings, name="app-mappings"),
    path("apps/<int:app_id>/settings/", views.app_settings, name="app-settings"),
    path("apps/<int:app_id>/delete/", views.app_delete, name="app-delete"),
    path("apps/<int:app_id>/edit/", mappings.views.app_edit, name="app-edit"),
    path("apps/<int:app_id>/s2s-confirm/", mappings.views.app_s2s_confirm, name="app-s2s-confirm"),
    path("apps/<int:app_id>/changes/", mappings.views.app_changes_view, name="app-changes"),
    path("apps/<int:app_id>/delivery/", mappings.views.app_delivery_toggle, name="app-delivery-toggle"),
    path("apps/<int:app_id>/write-keys/", mappings.views.write_key_new, name="write-key-new"),
    path("apps/<int:app_id>/write-keys/<int:write_key_id>/revoke/", mappings.views.write_key_revoke_view,
         name="write-key-revoke"),
    path("apps/<int:app_id>/mappings/new/", mappings.views.mapping_new, name="mapping-new"),
    path("apps/<int:app_id>/mappings/simulate/", delivery.views.mapping_simulate, name="mapping-simulate"),
    path("apps/<int:app_id>/mappings/copy/", mappings.views.mappings_copy_view, name="mappings-copy"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/edit/", mappings.views.mapping_edit, name="mapping-edit"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/delete/", mappings.views.mapping_delete_view,
         name="mapping-delete"),
    path("apps/<int:app_id>/mappings/<int:mapping_id>/toggle/", mappings.views.mapping_toggle, name="mapping-toggle"),
    path("apps/<int:app_id>/deliveries/", delivery.views.app_deliveries, name="app-deliveries"),
    path("apps/<int:app_id>/deliveries/export.csv", AppDeliveriesExportView.as_view(), name="app-deliveries-export"),
    path("apps/<int:app_id>/live/", delivery.views.app_live, name="app-live"),
    path("apps/<int:app_id>/recover/", delivery.views.app_recover, name="app-recover"),
    path("apps/<int:app_id>/backfill/", delivery.views.app_backfill, name="app-backfill"),
    path("apps/<int:app_id>/test-event/", delivery.views.app_test_event, name="app-test-event"),
]
