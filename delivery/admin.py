"""Admin for support staff: deliveries with their attempts, tracked events, event names, per-app history.

Everything here is read-only: delivery state is written only by the pipeline, and the one
thing staff may do is send failed deliveries again, through the same service the
dashboard and the API use. Stored requests already have the token masked, and no page
here reads the app's token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from delivery.health import app_health
from delivery.history.chart import history_chart
from delivery.history.stats import STATS_MAX_DAYS, app_stats
from delivery.ingest.schema import device_identity
from delivery.models import AppSendingState, Attempt, Delivery, EventName, TrackedEvent
from delivery.outbox.recovery import deliveries_retry
from delivery.templatetags.delivery_tags import pretty_json
from mappings.models import App
from trackerui.foundation.time_html import utc_time

HISTORY_DAY_CHOICES = [7, 14, 30, 90]
HISTORY_DEFAULT_DAYS = 30
HISTORY_APPS_PER_PAGE = 100


def _json(value: Any) -> str:
    return format_html('<pre class="json">{}</pre>', pretty_json(value))


def _json_display(attribute: str, description: str) -> Callable[[Any, Any], str]:
    """An admin column or read-only field showing one JSON attribute of the object, indented."""

    @admin.display(description=description)
    def show(model_admin: Any, obj: Any) -> str:
        return _json(getattr(obj, attribute))

    return show


class ReadOnly:
    """Staff look, the pipeline writes: no add, change or delete, so every field shows read-only.

    Mixed into admins and inlines alike.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(ReadOnly, admin.StackedInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "endpoint", "http_status", "response_status", "response_message",
              "latency_ms", "error", "outcome", "headers_sent", "body_sent", "response_body"]
    readonly_fields = fields
    headers_sent = _json_display("request_headers", "Request headers")
    body_sent = _json_display("request_body", "Request body (token masked)")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    # Status second, and few, short columns, so a 1366 px screen shows the whole row with the
    # sidebar open; the device and the full timestamps are on each delivery's page.
    list_display = ["id", "status_shown", "created", "app_name", "event_shown", "event_id_number", "attempts"]
    list_filter = ["status", "app", "event_field"]
    list_select_related = ["event", "app"]
    search_fields = ["event__event_id", "device"]
    search_help_text = "An event id exactly as the studio sent it, or a device's ifa, gaid or uuid."
    date_hierarchy = "created_at"
    fields = ["app", "event", "mapping", "event_field", "device", "status", "reason", "item_shown", "attempt_count",
              "first_attempt_at", "retry_window_started_at", "last_attempt_at", "next_attempt_at", "created_at",
              "updated_at"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["retry_failed"]

    @admin.display(description="Item in track_info")
    def item_shown(self, delivery: Delivery) -> str:
        """The item, said to be unsent for a delivery that never leaves (suppressed or blocked)."""
        if delivery.status in Delivery.NEVER_SENT:
            return format_html('<p class="quiet">Not sent: this is what would have gone.</p>{}', _json(delivery.item))
        return _json(delivery.item)

    @admin.display(description="Created", ordering="created_at")
    def created(self, delivery: Delivery) -> str:
        return _short_time(delivery.created_at)

    @admin.display(description="App", ordering="app__name")
    def app_name(self, delivery: Delivery) -> str:
        return delivery.app.name

    # Two "event ids" sit side by side: the studio's own, and Chartboost's 1-5. Each column says whose.
    @admin.display(description="Your event_id and name", ordering="event__event_id")
    def event_shown(self, delivery: Delivery) -> str:
        return format_html('{}<div class="quiet">{}</div>', delivery.event.event_id, delivery.event.name)

    @admin.display(description="Chartboost Event ID", ordering="event_field")
    def event_id_number(self, delivery: Delivery) -> int:
        return delivery.event_field

    @admin.display(description="Attempts", ordering="attempt_count")
    def attempts(self, delivery: Delivery) -> int:
        return delivery.attempt_count

    @admin.display(description="Status", ordering="status")
    def status_shown(self, delivery: Delivery) -> str:
        """The status, and when a waiting delivery is next due: a column of its own would not fit."""
        if delivery.next_attempt_at is None or delivery.status not in Delivery.SENDABLE:
            return delivery.get_status_display()
        return format_html('{}<div class="quiet">next {}</div>', delivery.get_status_display(),
                           _short_time(delivery.next_attempt_at))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        """Also find a device pasted as received (uppercase, with dashes): we key devices normalised."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found |= queryset.filter(device=device_identity(term))
        return found, may_have_duplicates

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # Sending again changes a delivery's state, so it takes the right to change deliveries,
        # even though no field of one can be edited here.
        return request.user.has_perm("delivery.change_delivery")

    @admin.action(description="Retry selected failed deliveries", permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        # Counted before: the retry turns the failed ones pending. One that someone else sent
        # again since the page was loaded is no longer failed, so it is skipped.
        selected = queryset.count()
        retried = deliveries_retry(deliveries=queryset)
        skipped = selected - retried
        message = f"Queued {retried} failed deliver{'y' if retried == 1 else 'ies'} to be sent again."
        if skipped:
            message += f" Skipped {skipped} that {'was' if skipped == 1 else 'were'} not failed."
        self.message_user(request, message, messages.SUCCESS if retried else messages.WARNING)

    def get_urls(self) -> list[URLPattern]:
        history = [
            path("history/", self.admin_site.admin_view(self.history_index_view), name="delivery_history_index"),
            path("history/<int:app_id>/", self.admin_site.admin_view(self.history_view), name="delivery_history"),
        ]
        return history + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Link the success history of the app the list is filtered by (or of every app)."""
        app_id = request.GET.get("app__id__exact", "")
        extra_context = {
            **(extra_context or {}),
            "history_url": reverse("admin:delivery_history", args=[int(app_id)]) if app_id.isdigit()
            else reverse("admin:delivery_history_index"),
            "history_label": "Success history of this app" if app_id.isdigit() else "Success history per app",
        }
        return super().changelist_view(request, extra_context)

    def history_index_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        apps = App.objects.select_related("organization").order_by("organization__name", "name", "id")
        page = Paginator(apps, HISTORY_APPS_PER_PAGE).get_page(request.GET.get("page"))
        health = app_health(page.object_list)
        context = {
            **self.admin_site.each_context(request),
            "title": "Success history per app",
            "opts": self.model._meta,
            "page": page,
            "rows": [(app, health[app.pk]) for app in page.object_list],
        }
        return TemplateResponse(request, "admin/delivery/history_index.html", context)

    def history_view(self, request: HttpRequest, app_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        app = get_object_or_404(App.objects.select_related("organization"), pk=app_id)
        days = _history_days(request.GET.get("days"))
        stats = app_stats(app, days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Success history: {app.name}",
            "opts": self.model._meta,
            "app": app,
            "days": days,
            "day_choices": HISTORY_DAY_CHOICES,
            "stats": stats,
            "rows": list(reversed(stats.days)),
            "chart": history_chart(stats),
            "deliveries_url": reverse("admin:delivery_delivery_changelist") + f"?app__id__exact={app.pk}",
        }
        return TemplateResponse(request, "admin/delivery/history.html", context)


def _short_time(moment: datetime) -> str:
    """To the second, written as on every page (`utc_time`): UTC, shown in local time by time.js."""
    return utc_time(moment, seconds=True)


def _history_days(raw: str | None) -> int:
    try:
        days = int(raw or HISTORY_DEFAULT_DAYS)
    except ValueError:
        return HISTORY_DEFAULT_DAYS
    return min(max(days, 1), STATS_MAX_DAYS)


class DeliveryInline(ReadOnly, admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["event_field", "status", "reason", "attempt_count", "created_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(TrackedEvent)
class TrackedEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["event_id", "name", "app", "device", "timestamp", "received_at", "limit_ad_tracking"]
    list_filter = ["app", "limit_ad_tracking"]
    list_select_related = ["app"]
    search_fields = ["event_id", "device", "name"]
    fields = ["app", "event_id", "name", "timestamp", "platform", "identifiers_received", "device",
              "properties_received", "sdk_version", "limit_ad_tracking", "received_at"]
    readonly_fields = fields
    inlines = [DeliveryInline]
    identifiers_received = _json_display("identifiers", "Identifiers")
    properties_received = _json_display("properties", "Properties")


@admin.register(EventName)
class EventNameAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["name", "app", "count", "first_seen_at", "last_seen_at"]
    list_filter = ["app"]
    list_select_related = ["app"]
    search_fields = ["name"]
    fields = ["app", "name", "count", "first_seen_at", "last_seen_at", "example"]
    readonly_fields = fields
    example = _json_display("example_properties", "Example properties")


@admin.register(AppSendingState)
class AppSendingStateAdmin(ReadOnly, admin.ModelAdmin):
    """Each app's sending state: its circuit, a 429 pause, when something is next due."""

    list_display = ["app", "circuit", "circuit_since", "next_probe_at", "failures", "paused_until", "due_at",
                    "last_delivered_at"]
    list_filter = ["circuit"]
    list_select_related = ["app"]
    search_fields = ["app__name", "app__chartboost_app_id"]
    fields = list_display + ["probe_interval", "probe_until"]
    readonly_fields = fields
