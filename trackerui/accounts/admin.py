"""Admin for support staff: organizations with their members, and API keys (never the key itself)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from trackerui.accounts.audit import ChangeFeed
from trackerui.accounts.models import ApiKey, Invitation, Membership, Organization
from trackerui.accounts.services import api_key_revoke


class AuditHistoryAdmin(admin.ModelAdmin):
    """A model admin whose History page is the object's audit trail (trackerui/accounts/audit.py).

    Django's own History lists the admin's log, which knows nothing of the dashboard and
    the API; this one shows every change, from anywhere, with each field before and after.
    """

    # What the trail calls this model's objects ("app", "api_key", ...).
    audit_object_type = ""
    audit_history_intro = ""
    audit_history_per_page = 50

    def audit_changes(self, obj: models.Model) -> ChangeFeed:
        return ChangeFeed({self.audit_object_type: type(obj).audit_trail.filter(id=obj.pk)})

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
                     ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        page = Paginator(self.audit_changes(obj), self.audit_history_per_page).get_page(request.GET.get("p"))
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj}",
            "subtitle": None,
            "intro": self.audit_history_intro,
            "object": obj,
            "opts": self.opts,
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "changes_page": page,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/audit/history.html", context)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditHistoryAdmin):
    """Memberships, for their history. Roles are changed on the organization's page, among its members."""

    audit_object_type = "membership"
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "organization__name", "organization__slug"]
    fields = ["user", "organization", "role", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(AuditHistoryAdmin):
    """Invitations, for support: who invited whom, and the account it matched. Read only."""

    audit_object_type = "invitation"
    list_display = ["invitee", "organization", "status", "invited_by", "user", "created_at", "expires_at",
                    "answered_at"]
    list_filter = ["status", "organization"]
    search_fields = ["invitee", "user__username", "organization__name", "organization__slug"]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(AuditHistoryAdmin):
    audit_object_type = "api_key"
    list_display = ["prefix", "name", "scope", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", "scope"]
    search_fields = ["prefix", "name", "organization__name", "organization__slug"]
    fields = ["prefix", "name", "scope", "organization", "key_hash", "created_by", "created_at", "last_used_at",
              "revoked_at"]
    readonly_fields = ["prefix", "scope", "organization", "key_hash", "created_by", "created_at", "last_used_at",
                       "revoked_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key is shown once, at creation, to whoever will use it: customers create keys on
        # their API keys page, support with `manage.py create_api_key`. The admin never sees one.
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
