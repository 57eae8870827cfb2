"""Admin for support staff: apps (token write-only) and mappings.

Saves go through `mappings.services`, like the dashboard and the API, so the admin
enforces the same model rules and cannot store what the product would refuse.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from mappings.forms import AppForm
from mappings.models import App, Mapping
from mappings.selectors import app_changes
from mappings.services import APP_FIELDS, MAPPING_FIELDS, app_create, app_update, mapping_create, mapping_update
from trackerui.accounts.admin import AuditHistoryAdmin
from trackerui.accounts.audit import ChangeFeed


class AppAdminForm(AppForm):
    """The dashboard's app form plus the organization: token write-only, blank keeps it."""

    class Meta(AppForm.Meta):
        fields = ["organization", *APP_FIELDS]


def _adopt(target: App | Mapping, saved: App | Mapping) -> None:
    """Make the admin's unsaved object the row a service just created.

    The admin keeps using its own object after `save_model` (change log, redirect),
    so it needs the new primary key and to know it is no longer unsaved.
    """
    target.pk = saved.pk
    target._state.adding = False
    target._state.db = saved._state.db


class ArchivedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "Live"), ("archived", "Archived (deleted by the customer)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[App]) -> QuerySet[App]:
        if self.value() == "live":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        return queryset


class MappingInline(admin.TabularInline):
    model = Mapping
    extra = 0
    fields = ["event_name", "event_field", "event_label", "active"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Mappings are added on their own admin page, where every field is validated.
        return False


@admin.register(App)
class AppAdmin(AuditHistoryAdmin):
    form = AppAdminForm
    audit_object_type = "app"
    audit_history_intro = ("Every change to this app and to its mappings (deleted ones too), from the dashboard, "
                           "the API, the admin and the system.")
    list_display = ["name", "state", "organization", "platform", "chartboost_app_id", "chartboost_app_token_hint",
                    "delivery_enabled", "s2s_confirmed"]
    list_filter = [ArchivedFilter, "platform", "delivery_enabled", "s2s_confirmed", "organization"]
    search_fields = ["name", "chartboost_app_id", "organization__name", "organization__slug"]
    readonly_fields = ["chartboost_app_token_hint", "created_at", "updated_at", "archived_at", "audit_trail_link"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "platform"]}),
        ("Chartboost credentials", {"fields": ["chartboost_app_id", "chartboost_app_token_hint",
                                               "chartboost_app_token"]}),
        ("Sending", {"fields": ["delivery_enabled", "s2s_confirmed"]}),
        ("History", {"fields": ["created_at", "updated_at", "archived_at", "audit_trail_link"]}),
    ]
    inlines = [MappingInline]

    @admin.display(description="State", ordering="archived_at")
    def state(self, app: App) -> str:
        return "archived" if app.archived_at else "live"

    def has_change_permission(self, request: HttpRequest, obj: App | None = None) -> bool:
        # An archived app stays readable for support, but it has no token and sends nothing:
        # saving it would only fail the token rule, so its page is read-only.
        if obj is not None and obj.archived_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: App | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm]:
        if obj is not None and obj.archived_at is not None:
            # The read-only page has no inputs, and AppForm expects its own.
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def audit_changes(self, obj: App) -> ChangeFeed:
        return app_changes(obj)

    @admin.display(description="Audit trail")
    def audit_trail_link(self, app: App) -> str:
        if app.pk is None:
            return "—"
        return format_html('<a href="{}">Changes to this app and its mappings</a>',
                           reverse("admin:mappings_app_history", args=[app.pk]))

    @admin.display(description="Token")
    def chartboost_app_token_hint(self, app: App) -> str:
        return app.chartboost_app_token_hint or "—"

    def save_model(self, request: HttpRequest, obj: App, form: forms.ModelForm, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in APP_FIELDS}
        if change:
            app_update(app=obj, **values)
        else:
            _adopt(obj, app_create(organization=form.cleaned_data["organization"], **values))


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
            _adopt(obj, mapping_create(app=form.cleaned_data["app"], **values))
