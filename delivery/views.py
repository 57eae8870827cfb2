"""Dashboard pages for deliveries: an app's Deliveries tab (with recover and the CSV export's link), the
search across apps, one delivery with every attempt, and the actions retry, recover and send a test event.

Each view checks access (another organization's app or delivery is a 404), reads its input
with a form, calls one selector or service and renders or redirects. An action redirects to
the tab where its form is, with its message at the top. Asked by htmx (trackerui/foundation/htmx.py),
retry and recover answer with the part of the page that changed instead, in place.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from delivery.erasure import device_forget, erasure_changes, erasures_for_organization
from delivery.filters import DeliveryFilterSet, DeliverySearchFilterSet
from delivery.forms import BackfillForm, ForgetDeviceForm, RecoverForm
from delivery.history.live import outcomes_recent
from delivery.ingest.backfill import NoMapping, backfill_request
from delivery.ingest.simulate import DraftOutcome, mappings_simulate
from delivery.models import Delivery
from delivery.outbox.recovery import DeliveryNotFailed, deliveries_recover, delivery_retry
from delivery.outbox.trial_event import TestEventRefused, test_event_send
from delivery.panels import (
    deliveries_list_query,
    list_poll_next,
    recover_form_keep,
    recover_form_take,
    status_poll_next,
    status_polls_done,
    test_event_result_keep,
)
from delivery.selectors import deliveries_for_app, deliveries_for_organization, delivery_get_for_organization
from mappings.forms import MappingForm
from mappings.models import App, Mapping
from mappings.selectors import app_get_for_request, mapping_get_for_app
from trackerui.accounts import roles
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request
from trackerui.foundation.htmx import is_htmx, vary_on_htmx

DELIVERIES_PER_PAGE = 50


@organization_required
@require_GET
def app_deliveries(request: HttpRequest, app_id: int) -> HttpResponse:
    """The Deliveries tab; asked by htmx (the rows polling while some are about to go out, `?poll=N`),
    only its rows."""
    app = app_get_for_request(request, app_id)
    list_query = deliveries_list_query(request.GET)
    if is_htmx(request):
        context = _deliveries_results_context(request, app, list_query, status_polls_done(request.GET.get("poll")))
        return vary_on_htmx(render(request, "deliveries/_results.html", context))
    context = {
        **_deliveries_results_context(request, app, list_query, 0),
        # A preset link (`?recover_since=24h`) fills the recover form without JavaScript.
        "recover_form": recover_form_take(request, app, preset=request.GET.get("recover_since")),
    }
    return vary_on_htmx(render(request, "deliveries/list.html", context))


def _deliveries_results_context(request: HttpRequest, app: App, list_query: QueryDict,
                                polls_done: int) -> dict[str, Any]:
    """The rows of the Deliveries tab under the filters in `list_query`, with when to look at them again."""
    filterset = DeliveryFilterSet(list_query, queryset=deliveries_for_app(app), request=request)
    page = Paginator(filterset.qs, DELIVERIES_PER_PAGE).get_page(list_query.get("page"))
    return {
        "app": app, "form": filterset.form, "page": page, "filtered": bool(filterset.applied()),
        "export_query": filterset.applied_query(), "list_query": list_query,
        "list_next_poll": list_poll_next(app, list(page.object_list), polls_done, timezone.now()),
    }


@organization_required
@require_GET
def delivery_search(request: HttpRequest) -> HttpResponse:
    # Unbound until something is asked, so a first visit shows the form and its hint, not errors.
    filterset = DeliverySearchFilterSet(
        request.GET or None, queryset=deliveries_for_organization(organization_for_request(request)),
        request=request,
    )
    page = None
    if filterset.identity_given():
        page = Paginator(filterset.qs, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "deliveries/search.html", {"form": filterset.form, "page": page})


@organization_required
@require_GET
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """One delivery; asked by htmx (the status panel polling, `?poll=N`), only its status panel."""
    delivery = delivery_get_for_organization(organization_for_request(request), delivery_id)
    if is_htmx(request):
        context = _status_panel_context(delivery, status_polls_done(request.GET.get("poll")), htmx_partial=True)
        return vary_on_htmx(render(request, "deliveries/_status_panel.html", context))
    return vary_on_htmx(render(request, "deliveries/detail.html", _status_panel_context(delivery, 0)))


def _status_panel_context(delivery: Delivery, polls_done: int, **extra: Any) -> dict[str, Any]:
    next_poll = status_poll_next(delivery, polls_done, timezone.now())
    return {"delivery": delivery, "app": delivery.app, "next_poll": next_poll, **extra}


@organization_required
@require_POST
def delivery_retry_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = delivery_get_for_organization(organization_for_request(request), delivery_id)
    try:
        delivery_retry(delivery=delivery)
    except DeliveryNotFailed as not_failed:
        level, text = messages.ERROR, str(not_failed)
    else:
        level, text = messages.SUCCESS, "Sent again: the delivery is pending and goes out to Chartboost now."
    if is_htmx(request):
        # The status panel swaps in with the message inside it, and polls until the status is final.
        delivery.refresh_from_db()
        context = _status_panel_context(
            delivery, 0, htmx_partial=True, panel_message=text,
            panel_message_level="success" if level == messages.SUCCESS else "error",
        )
        return vary_on_htmx(render(request, "deliveries/_status_panel.html", context))
    messages.add_message(request, level, text)
    return redirect("delivery-detail", delivery_id=delivery.pk)


@organization_required
@require_POST
def app_recover(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    # The list's filters the form was sent from, so the rows shown afterwards are the same ones.
    list_query = deliveries_list_query(QueryDict(request.POST.get("list_query", "")[:2000]))
    back = reverse("app-deliveries", args=[app.pk]) + (f"?{list_query.urlencode()}" if list_query else "")
    form = RecoverForm(request.POST)
    if not form.is_valid():
        if is_htmx(request):
            context = {"app": app, "recover_form": form, "list_query": list_query}
            return vary_on_htmx(render(request, "deliveries/_recover.html", context))
        # Shown next to the field on the Deliveries tab, not as a banner: the redirect keeps a
        # reload from posting again.
        recover_form_keep(request, app, request.POST.get("since", "")[:200])
        return redirect(back)
    since = form.cleaned_data["since"]
    count = deliveries_recover(app=app, since=since)
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M UTC")
    if count:
        noun = "delivery" if count == 1 else "deliveries"
        level, text = messages.SUCCESS, f"Queued {count} failed {noun} since {when} to be sent again."
    else:
        level, text = messages.INFO, f"No failed deliveries since {when}: nothing to send again."
    if is_htmx(request):
        # The count shows inside the form, where the user is looking; the typed value stays. The rows
        # come along (out of band) with their new status, so no row still says failed.
        context = {"recover_form": form, "recover_message": text,
                   "recover_message_level": "success" if count else "info", "recover_done": True,
                   **_deliveries_results_context(request, app, list_query, 0)}
        return vary_on_htmx(render(request, "deliveries/_recover.html", context))
    messages.add_message(request, level, text)
    return redirect(back)


@organization_required
@require_POST
def app_backfill(request: HttpRequest, app_id: int) -> HttpResponse:
    """Backfill a mapping from its page; back to that page (or the Mappings tab) with what was queued."""
    app = app_get_for_request(request, app_id)
    form = BackfillForm(request.POST)
    valid = form.is_valid()
    mapping = app.mappings.filter(event_field=form.cleaned_data.get("event_field", 0)).first()
    back = redirect("mapping-edit", app_id=app.pk, mapping_id=mapping.pk) if mapping else redirect(
        "app-mappings", app_id=app.pk)
    if not valid:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Nothing was backfilled: {error}")
        return back
    since = form.cleaned_data["since"]
    try:
        backfill = backfill_request(app=app, event_field=form.cleaned_data["event_field"], since=since)
    except NoMapping as error:
        messages.error(request, f"Nothing was backfilled: {error}")
        return back
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M UTC")
    if backfill.count:
        noun = "event" if backfill.count == 1 else "events"
        messages.success(request, f"Backfill queued: {backfill.count} stored {noun} since {when} are sent as "
                         f"Event ID {backfill.event_field}, after the live ones.")
    else:
        messages.info(request, f"Every stored {backfill.event_name} event since {when} already has a delivery "
                      f"for Event ID {backfill.event_field}: nothing to backfill.")
    return back


LIVE_SHOWN = 50


@organization_required
@require_GET
def app_live(request: HttpRequest, app_id: int) -> HttpResponse:
    """The Live events tab; htmx's poll gets its partial alone."""
    app = app_get_for_request(request, app_id)
    context = {"app": app, "live_events": outcomes_recent(app, limit=LIVE_SHOWN), "live_limit": LIVE_SHOWN}
    template = "apps/_live_events.html" if is_htmx(request) else "apps/live.html"
    return vary_on_htmx(render(request, template, context))


SIMULATE_DAYS = (1, 7, 30)


@organization_required
@require_POST
def mapping_simulate(request: HttpRequest, app_id: int) -> HttpResponse:
    """"Try this mapping": the mapping form's values over the app's stored events, nothing saved.

    With htmx, the result panel alone; without, the mapping form again, as it was typed, with the
    result in its panel (so nothing is lost and "Save" is one click away).
    """
    app = app_get_for_request(request, app_id)
    mapping = mapping_get_for_app(app, request.GET["mapping"]) if request.GET.get("mapping") else None
    # The form checks a copy, so the page keeps the saved mapping, as on the edit page.
    form = MappingForm(request.POST, instance=copy.copy(mapping) if mapping else Mapping(app=app))
    days = int(request.POST.get("simulate_days", "7")) if request.POST.get("simulate_days") in {
        str(choice) for choice in SIMULATE_DAYS} else 7
    context: dict[str, Any] = {"app": app, "mapping": mapping, "form": form, "simulate_days": days}
    if form.is_valid():
        draft = Mapping(**form.cleaned_data)
        context["simulated"] = _simulated_for_page(mappings_simulate(app=app, drafts=[draft], days=days)[0])
    else:
        context["simulate_errors"] = " ".join(error for errors in form.errors.values() for error in errors)
    if is_htmx(request):
        return vary_on_htmx(render(request, "mappings/_simulate_result.html", context))
    return vary_on_htmx(render(request, "mappings/form.html", context))


def _simulated_for_page(outcome: DraftOutcome) -> DraftOutcome:
    for example in outcome.examples:
        example["item_json"] = json.dumps(example["item"], ensure_ascii=False, indent=1)
    return outcome


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
    return redirect("app-settings", app_id=app.pk)


RECENT_ERASURES = 10


@organization_required
@require_http_methods(["GET", "POST"])
def privacy_settings(request: HttpRequest) -> HttpResponse:
    """Forget a device: the identifiers, a confirm step that restates them, then the counts erased.

    Members see the page and its trail; only an owner erases. The answer is a redirect to the page
    showing that erasure's counts, so reloading it erases nothing again and no identifier is in a URL.
    """
    if request.method == "POST" and not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.ERASE_DEVICES)
    organization = organization_for_request(request)
    form = ForgetDeviceForm(request.POST if request.method == "POST" else None)
    confirming = False
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirmed"]:
            erasure = device_forget(organization=organization, subject=form.cleaned_data["subject"])
            messages.success(request, "The device is forgotten: nothing of it is left in your apps' events, "
                                      "deliveries or examples.")
            return redirect(f"{reverse('privacy')}?erasure={erasure.pk}#erasure-result")
        confirming = True
    erasures = erasures_for_organization(organization)
    shown = erasures.filter(pk=request.GET["erasure"]).first() if request.GET.get("erasure", "").isdigit() else None
    context = {
        "form": form,
        "confirming": confirming,
        "erasure": shown,
        "erasures": erasures[:RECENT_ERASURES],
        "recent_changes": erasure_changes(organization)[:RECENT_ERASURES],
    }
    return render(request, "settings/privacy.html", context)
