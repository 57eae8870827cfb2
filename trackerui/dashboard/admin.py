"""The admin's app pages as the product serves them: `mappings.admin.AppAdmin`, with delete archiving.

Deleting an app fails its waiting deliveries, which `mappings` may not import, so the admin
registered there is replaced here, in the layer above both, by one whose delete archives
(`trackerui.dashboard.services.app_archive`): support staff keep the app's history and audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from mappings import admin as mappings_admin
from mappings.models import App
from trackerui.dashboard.services import app_archive


class AppAdmin(mappings_admin.AppAdmin):
    def delete_model(self, request: HttpRequest, obj: App) -> None:
        app_archive(app=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[App]) -> None:
        for app in queryset.filter(archived_at__isnull=True):
            app_archive(app=app)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """What the confirmation page lists: nothing is deleted, each app is archived.

        Its deliveries and attempts stay, so the rights to delete those (which nobody has:
        the pipeline alone writes them) are not needed.
        """
        archived = [f"{app} is archived: it stops receiving and sending, its token is erased, and its history stays"
                    for app in objs]
        return archived, {}, set(), []


# Support staff see the product's name, not "Django administration".
admin.site.site_header = "CB Tracker admin"
admin.site.site_title = "CB Tracker admin"
admin.site.index_title = "Support: deliveries, apps and organizations"

admin.site.unregister(App)
admin.site.register(App, AppAdmin)
