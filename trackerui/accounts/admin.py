"""Admin for support staff: organizations with their members, and API keys (never the key itself)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from trackerui.accounts.models import ApiKey, Membership, Organization
from trackerui.accounts.services import api_key_revoke


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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
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
