"""The alerts page: the organization's channels (owners manage them, members see them and test them),
its threshold, and the alerts sent, each with what its channel answered."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from delivery.alerts.channels import alert_channel_create, alert_channel_delete, alert_channel_get
from delivery.alerts.dispatch import alert_test_send
from delivery.alerts.forms import ChannelCreateForm, ThresholdForm
from delivery.alerts.models import Alert, AlertChannel, AlertSettings
from trackerui.accounts import roles
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.selectors import organization_for_request

RECENT_ALERTS = 50


def _page(request: HttpRequest, form: ChannelCreateForm, threshold_form: ThresholdForm,
          status: int = 200) -> HttpResponse:
    organization = organization_for_request(request)
    context = {
        "form": form,
        "threshold_form": threshold_form,
        "channels": AlertChannel.objects.filter(organization=organization),
        "alerts": Alert.objects.filter(channel__organization=organization).select_related("channel", "app")
        [:RECENT_ALERTS],
    }
    return render(request, "alerts/alerts.html", context, status=status)


def _threshold_form(request: HttpRequest, data: object = None) -> ThresholdForm:
    organization = organization_for_request(request)
    instance = AlertSettings.objects.filter(organization=organization).first() or AlertSettings(
        organization=organization)
    return ThresholdForm(data, instance=instance)


@organization_required
@require_http_methods(["GET", "POST"])
def alert_channels(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ChannelCreateForm(), _threshold_form(request))
    if not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.MANAGE_ALERT_CHANNELS)
    form = ChannelCreateForm(request.POST)
    if form.is_valid():
        try:
            created = alert_channel_create(organization=organization_for_request(request), **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if not created.secret:
                messages.success(request, f"Alerts now go to {created.channel}.")
                return redirect("alert-channels")
            # The secret is rendered in this response only; no-store keeps it out of the browser's cache.
            response = render(request, "alerts/channel_created.html", {"channel": created.channel,
                                                                       "secret": created.secret})
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, form, _threshold_form(request), status=400)


@organization_required
@roles.owner_required(roles.MANAGE_ALERT_CHANNELS)
@require_POST
def alert_channel_delete_view(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = alert_channel_get(organization_for_request(request), channel_id)
    alert_channel_delete(channel=channel)
    messages.success(request, f"Alerts no longer go to {channel}.")
    return redirect("alert-channels")


@organization_required
@require_POST
def alert_channel_test_view(request: HttpRequest, channel_id: int) -> HttpResponse:
    alert = alert_test_send(alert_channel_get(organization_for_request(request), channel_id))
    if alert.status == Alert.Status.DELIVERED:
        messages.success(request, f"Test alert sent to {alert.channel}. It answered: {alert.answer}")
    else:
        messages.error(request, f"Test alert to {alert.channel} failed. It answered: {alert.answer}")
    return redirect("alert-channels")


@organization_required
@roles.owner_required(roles.MANAGE_ALERT_CHANNELS)
@require_POST
def alert_threshold_view(request: HttpRequest) -> HttpResponse:
    form = _threshold_form(request, request.POST)
    if form.is_valid():
        form.save()
        messages.success(request, f"Alerts now say when the success rate is below "
                                  f"{form.cleaned_data['success_rate_threshold']} %.")
        return redirect("alert-channels")
    return _page(request, ChannelCreateForm(), form, status=400)
