"""Admin for support staff: mappings. (Apps' admin is trackerui/dashboard/admin.py: its delete archives.)

Saves go through `mappings.services`, like the dashboard and the API, so the admin
enforces the same model rules and cannot store what the product would refuse.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from mappings.models import App, Mapping
from mappings.services import MAPPING_FIELDS, mapping_create, mapping_update
from trackerui.accounts.admin import AuditHistoryAdmin


def admin_adopt(target: App | Mapping, saved: App | Mapping) -> None:
    """Make the admin's unsaved object the row a service just created.

    The admin keeps using its own object after `save_model` (change log, redirect),
    so it needs the new primary key and to know it is no longer unsaved.
    """
    target.pk = saved.pk
    target._state.adding = False
    target._state.db = saved._state.db


@admin.register(Mapping)
class MappingAdmin(AuditHistoryAdmin):
    audit_object_type = "mapping"
    list_display = ["event_name", "event_field", "label", "app", "active"]
    list_filter = ["event_field", "active", "app__organization"]
    search_fields = ["event_name", "event_label", "app__name"]
    list_select_related = ["app", "app__organization"]
    autocomplete_fields = ["app"]
    fields = ["app", *MAPPING_FIELDS]

    def save_model(self, request: HttpRequest, obj: Mapping, form: forms.ModelForm, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in MAPPING_FIELDS}
        if change:
            mapping_update(mapping=obj, **values)
        else:
            admin_adopt(obj, mapping_create(app=form.cleaned_data["app"], **values))
