"""Dashboard pages for apps and their mappings.

Each action redirects to the app's tab where its form is (Mappings, Settings), so its
message shows at the top. Each view checks access (another organization's app or mapping is a 404), lets a form
turn the post into values, calls one service and renders. The rules themselves live
on the models, reached through `mappings.services`.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from mappings.forms import AppForm, MappingCopyForm, MappingForm, add_service_errors
from mappings.models import App, Mapping
from mappings.selectors import (
    app_changes,
    app_get_for_request,
    apps_for_organization,
    event_fields_free,
    mapping_deleted_from_app,
    mapping_get_for_app,
    mappings_with_event_fields,
    write_key_get_for_app,
)
from mappings.services import (
    MappingCopied,
    app_create,
    app_update,
    mapping_create,
    mapping_delete,
    mapping_set_active,
    mapping_update,
    mappings_copy,
    write_key_create,
    write_key_revoke,
)
from trackerui.accounts import roles
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request

CHANGES_PER_PAGE = 25


def _mapping_for(request: HttpRequest, app_id: int, mapping_id: int) -> Mapping:
    return mapping_get_for_app(app_get_for_request(request, app_id), mapping_id)


@organization_required
@roles.owner_required(roles.CREATE_APPS)
@require_http_methods(["GET", "POST"])
def app_new(request: HttpRequest) -> HttpResponse:
    organization = organization_for_request(request)
    form = AppForm(request.POST or None, instance=App(organization=organization))
    if request.method == "POST" and form.is_valid():
        try:
            app = app_create(organization=organization, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{app.name} is added. Next: map your tracked events to Event IDs.")
            return redirect("app-detail", app_id=app.pk)
    return render(request, "apps/form.html", {"form": form})


@organization_required
@require_http_methods(["GET", "POST"])
def app_edit(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    may_change_credentials = roles.request_is_owner(request)
    if request.method == "POST" and not may_change_credentials and roles.app_credentials_changed(app, request.POST):
        return roles.owner_refusal(request, roles.CHANGE_APP_CREDENTIALS)
    # The form validates a copy, so the page header keeps the saved name while errors show.
    form = AppForm(request.POST or None, instance=copy.copy(app))
    if not may_change_credentials:
        form.lock_credentials()
    if request.method == "POST" and form.is_valid():
        try:
            app_update(app=app, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{app.name} is saved.")
            return redirect("app-settings", app_id=app.pk)
    return render(request, "apps/form.html", {"form": form, "app": app})


@organization_required
@require_POST
def app_s2s_confirm(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_update(app=app_get_for_request(request, app_id), s2s_confirmed=True)
    messages.success(request, f"Marked {app.name} as switched to S2S by Chartboost.")
    return redirect("app-settings", app_id=app.pk)


@organization_required
@require_POST
def app_delivery_toggle(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    app = app_update(app=app, delivery_enabled=not app.delivery_enabled)
    if app.delivery_enabled:
        messages.success(request, "Delivery is on: waiting events go out to Chartboost now.")
    else:
        messages.success(request, "Delivery is paused: new events wait as pending until you turn it back on.")
    return redirect("app-settings", app_id=app.pk)


@organization_required
@require_POST
def write_key_new(request: HttpRequest, app_id: int) -> HttpResponse:
    """Owners only: a new write key, shown on this one answer (the Settings tab's form)."""
    # The app first: another organization's app is a 404 for everyone, a member's try a 403.
    app = app_get_for_request(request, app_id)
    if not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.CREATE_WRITE_KEYS)
    name = request.POST.get("name", "")[:100]
    try:
        write_key, raw_key = write_key_create(app=app, name=name, created_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("app-settings", app_id=app.pk)
    # As for API keys: rendered in this response only, never stored, kept out of the browser's cache.
    response = render(request, "apps/write_key_created.html", {"app": app, "write_key": write_key,
                                                                "raw_key": raw_key})
    response["Cache-Control"] = "no-store"
    return response


@organization_required
@require_POST
def write_key_revoke_view(request: HttpRequest, app_id: int, write_key_id: int) -> HttpResponse:
    write_key = write_key_get_for_app(app_get_for_request(request, app_id), write_key_id)
    if not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.REVOKE_WRITE_KEYS)
    write_key_revoke(write_key=write_key)
    messages.success(request, f"Write key {write_key.prefix}… is revoked: calls using it are refused from now on.")
    return redirect("app-settings", app_id=app_id)


@organization_required
@require_http_methods(["GET", "POST"])
def mapping_new(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    if not event_fields_free(app):
        # Every option of the form would be refused: say so, and point at what can be done instead.
        return render(request, "mappings/all_used.html", {"app": app, "mappings": mappings_with_event_fields(app)})
    initial = {"event_name": request.GET.get("event_name", "")}
    form = MappingForm(request.POST or None, instance=Mapping(app=app), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            mapping = mapping_create(app=app, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{mapping.event_name} is now sent as Event ID {mapping.event_field}.")
            return redirect("app-mappings", app_id=app.pk)
    return render(request, "mappings/form.html", {"form": form, "app": app})


@organization_required
@require_http_methods(["GET", "POST"])
def mapping_edit(request: HttpRequest, app_id: int, mapping_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    try:
        mapping = mapping_get_for_app(app, mapping_id)
    except Http404:
        # Reached with the back button after a delete, or from an old link: say what became of it.
        deleted = mapping_deleted_from_app(app, mapping_id)
        if deleted is None:
            raise
        return render(request, "mappings/deleted.html", {"app": app, "mapping": deleted}, status=404)
    # The form validates a copy, so the page keeps the saved mapping while errors show.
    form = MappingForm(request.POST or None, instance=copy.copy(mapping))
    if request.method == "POST" and form.is_valid():
        try:
            mapping = mapping_update(mapping=mapping, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"The mapping of {mapping.event_name} is saved.")
            return redirect("app-mappings", app_id=mapping.app_id)
    return render(request, "mappings/form.html", {"form": form, "app": mapping.app, "mapping": mapping})


@organization_required
@require_http_methods(["GET", "POST"])
def mapping_delete_view(request: HttpRequest, app_id: int, mapping_id: int) -> HttpResponse:
    mapping = _mapping_for(request, app_id, mapping_id)
    if request.method == "POST":
        mapping_delete(mapping=mapping)
        messages.success(request, f"The mapping of {mapping.event_name} to Event ID {mapping.event_field} is deleted.")
        return redirect("app-mappings", app_id=mapping.app_id)
    return render(request, "mappings/confirm_delete.html", {"mapping": mapping, "app": mapping.app})


@organization_required
@require_POST
def mapping_toggle(request: HttpRequest, app_id: int, mapping_id: int) -> HttpResponse:
    mapping = _mapping_for(request, app_id, mapping_id)
    mapping = mapping_set_active(mapping=mapping, active=not mapping.active)
    state = "active" if mapping.active else "paused: matching events are not sent"
    messages.success(request, f"The mapping of {mapping.event_name} is {state}.")
    return redirect("app-mappings", app_id=mapping.app_id)


@organization_required
def app_changes_view(request: HttpRequest, app_id: int) -> HttpResponse:
    app = app_get_for_request(request, app_id)
    changes_page = Paginator(app_changes(app), CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "apps/changes.html", {"app": app, "changes_page": changes_page})


@organization_required
@require_http_methods(["GET", "POST"])
def mappings_copy_view(request: HttpRequest, app_id: int) -> HttpResponse:
    """Copy another app's mappings into this one.

    The answer to the POST is the report itself (what was copied, what clashed and why), on the
    page of the form: a report is read once, and sending the form again only clashes, never changes.
    """
    app = app_get_for_request(request, app_id)
    others = apps_for_organization(app.organization).exclude(pk=app.pk).order_by("name", "id")
    form = MappingCopyForm(request.POST or None, apps=others)
    outcomes: list[MappingCopied] | None = None
    if request.method == "POST" and form.is_valid():
        outcomes = mappings_copy(app=app, from_app=form.cleaned_data["from_app"])
    return render(request, "mappings/copy.html", {
        "app": app, "form": form, "outcomes": outcomes, "from_app": form.cleaned_data.get("from_app")
        if outcomes is not None else None,
    })
