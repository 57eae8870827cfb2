"""The alerts in the admin, read-only: what was sent where, and what each channel answered."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from delivery.alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "channel", "app", "status", "attempt_count", "created_at", "answer")
    list_filter = ("status", "kind")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False
