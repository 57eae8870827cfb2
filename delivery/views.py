"""Dashboard pages for deliveries: an app's deliveries, one delivery with every attempt, and the
app page's actions (retry, recover, send a test event).

Each view checks access (another organization's app or delivery is a 404), reads its input
with a form, calls one selector or service and renders or redirects.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from delivery.forms import DeliveryFilterForm, RecoverForm
from delivery.outbox.probe import TestEventRefused, test_event_send
from delivery.outbox.recovery import DeliveryNotFailed, deliveries_recover, delivery_retry
from delivery.panels import recover_form_keep, test_event_result_keep
from delivery.selectors import deliveries_for_app, delivery_get_for_organization
from mappings.models import App
from mappings.selectors import app_get_for_request
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request

DELIVERIES_PER_PAGE = 50


def _back_to_app(app: App, section: str) -> HttpResponse:
    return redirect(f"{reverse('app-detail', args=[app.pk])}#{section}")


@organization_required
@require_GET
def app_deliveries(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    form = DeliveryFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(deliveries_for_app(app, **filters), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"app": app, "form": form, "page": page, "filtered": bool(filters)}
    return render(request, "deliveries/list.html", context)


@organization_required
@require_GET
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = delivery_get_for_organization(organization_for_request(request), delivery_id)
    return render(request, "deliveries/detail.html", {"delivery": delivery, "app": delivery.app})


@organization_required
@require_POST
def delivery_retry_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = delivery_get_for_organization(organization_for_request(request), delivery_id)
    try:
        delivery_retry(delivery=delivery)
    except DeliveryNotFailed as not_failed:
        messages.error(request, str(not_failed))
    else:
        messages.success(request, "Sent again: the delivery is pending and goes out to Chartboost now.")
    return redirect("delivery-detail", delivery_id=delivery.pk)


@organization_required
@require_POST
def app_recover(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    form = RecoverForm(request.POST)
    if not form.is_valid():
        # Shown next to the field on the app page, not as a banner: the redirect keeps a
        # reload from posting again.
        recover_form_keep(request, app, request.POST.get("since", "")[:200])
        return _back_to_app(app, "recover")
    since = form.cleaned_data["since"]
    count = deliveries_recover(app=app, since=since)
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M UTC")
    if count:
        noun = "delivery" if count == 1 else "deliveries"
        messages.success(request, f"Queued {count} failed {noun} since {when} to be sent again.")
    else:
        messages.info(request, f"No failed deliveries since {when}: nothing to send again.")
    return _back_to_app(app, "recent-deliveries")


@organization_required
@require_POST
def app_test_event(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    try:
        result = test_event_send(app=app)
    except TestEventRefused as refused:
        messages.error(request, str(refused))
    else:
        test_event_result_keep(request, app, result)
    return _back_to_app(app, "test-event")
