"""The admin's app pages: token write-only, saves through `mappings.services`, and delete archives.

Here, above both apps, because deleting an app archives it (`trackerui.dashboard.services.app_archive`),
which fails its waiting deliveries: support staff keep the app's history and audit trail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from mappings.admin import admin_adopt
from mappings.forms import AppForm
from mappings.models import App, Mapping
from mappings.selectors import app_changes
from mappings.services import APP_FIELDS, app_create, app_update
from trackerui.accounts.admin import AuditHistoryAdmin
from trackerui.accounts.audit import ChangeFeed
from trackerui.dashboard.services import app_archive


class AppAdminForm(AppForm):
    """The dashboard's app form plus the organization: token write-only, blank keeps it."""

    class Meta(AppForm.Meta):
        fields = ["organization", *APP_FIELDS]


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
            admin_adopt(obj, app_create(organization=form.cleaned_data["organization"], **values))

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
