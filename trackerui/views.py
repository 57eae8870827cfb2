"""The dashboard shell's pages: the apps list and the app page, which gather panels from every part of the product."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from delivery.history.health import app_health
from delivery.outbox.circuit import circuits_view
from delivery.panels import app_delivery_panels
from delivery.selectors import unmapped_event_names
from mappings.event_fields import EVENT_FIELDS
from mappings.selectors import app_get_for_request, apps_sharing_chartboost_app_id, apps_with_active_mapping_counts
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request


@organization_required
def app_list(request: HttpRequest) -> HttpResponse:
    # Here, not in mappings: the health badges read delivery, which mappings may not import.
    apps = list(apps_with_active_mapping_counts(organization_for_request(request)))
    health = app_health(apps)
    return render(request, "apps/list.html", {"apps": apps, "app_rows": [(app, health[app.pk]) for app in apps]})


@organization_required
def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    mappings = app.mappings.order_by("event_field")
    context = {
        "app": app,
        # Each mapping beside its Event ID's definition, for the mappings table.
        "mapping_rows": [(mapping, EVENT_FIELDS[mapping.event_field]) for mapping in mappings],
        "free_event_fields": sorted(set(EVENT_FIELDS) - {mapping.event_field for mapping in mappings}),
        "unmapped_events": unmapped_event_names(app),
        "circuit": circuits_view([app.pk], timezone.now())[app.pk],
        # Duplicates saved before the rule that refuses them (App.clean) are only flagged.
        "apps_sharing_app_id": list(apps_sharing_chartboost_app_id(app)),
        **app_delivery_panels(request, app),
    }
    return render(request, "apps/detail.html", context)
