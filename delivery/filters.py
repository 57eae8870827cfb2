"""The deliveries filters: one FilterSet for the deliveries page, its CSV export and the API's list.

The same fields, names and messages everywhere, so a filter is validated by one rule
wherever it comes from. The page shows an error next to the field and applies the
other filters; the API and the export answer 400 naming the field (django-filter's DRF
backend). The search across apps adds an `app` filter and needs an event_id or a device.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from delivery.forms import TIME_HELP, TIME_INVALID, DeliveryFilterForm, DeliverySearchForm, TimeField, TimeWidget
from delivery.ingest.schema import MAX_EVENT_ID_LENGTH, MAX_UUID_LENGTH, device_identity
from delivery.models import Delivery
from mappings.event_fields import EVENT_FIELDS
from mappings.models import App
from mappings.selectors import apps_for_organization
from trackerui.accounts.selectors import organization_for_request

# The customer's own id of a tracked event and Chartboost's field 1-5 are both "event ids"
# in everyday speech: these labels keep them apart on every page and in the API's help.
YOUR_EVENT_ID = "Your event_id"
CHARTBOOST_EVENT_ID = "Chartboost Event ID (1–5)"


class TimeFilter(django_filters.DateTimeFilter):
    """A time on the deliveries' creation, within the range every backend stores, or a span ago ("24h")."""

    field_class = TimeField

    def __init__(self, *args: Any, presets: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presets = presets

    @property
    def field(self) -> TimeField:
        field = super().field
        # Shows the 1 h, 24 h, 7 d links beside the input (templates/includes/field.html).
        field.presets = self.presets
        return field


def _time_filter(lookup_expr: str, label: str, help_text: str, placeholder: str, *,
                 presets: bool = False) -> TimeFilter:
    return TimeFilter(
        field_name="created_at",
        lookup_expr=lookup_expr,
        label=label,
        help_text=help_text,
        error_messages={"invalid": TIME_INVALID},
        widget=TimeWidget(attrs={"placeholder": placeholder}),
        presets=presets,
    )


def _text_widget() -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off"})


class DeliveryFilterSet(django_filters.FilterSet):
    """An app's deliveries list: status, Chartboost Event ID, device, your event_id, since and until."""

    status = django_filters.ChoiceFilter(
        choices=Delivery.Status.choices,
        empty_label="Any status",
        error_messages={"invalid_choice": "Pick one of: " + ", ".join(Delivery.Status.values) + "."},
        help_text="Only deliveries in this status.",
    )
    event_field = django_filters.ChoiceFilter(
        label=CHARTBOOST_EVENT_ID,
        choices=[(number, f"{number}: {info.definition}") for number, info in EVENT_FIELDS.items()],
        empty_label="Any Chartboost Event ID",
        error_messages={"invalid_choice": "Chartboost Event ID must be 1, 2, 3, 4 or 5."},
        help_text="Only deliveries to this Chartboost Event ID (1–5), the field a mapping sends to.",
    )
    device = django_filters.CharFilter(
        method="filter_device",
        # The longest identifier an event may carry.
        max_length=MAX_UUID_LENGTH,
        help_text="ifa, gaid or uuid; dashes and case do not matter.",
        widget=_text_widget(),
    )
    event_id = django_filters.CharFilter(
        field_name="event__event_id",
        label=YOUR_EVENT_ID,
        max_length=MAX_EVENT_ID_LENGTH,
        help_text="The event_id your game sent with the tracked event, matched exactly.",
        widget=_text_widget(),
    )
    since = _time_filter("gte", "Since", f"Created at or after this time. {TIME_HELP}", "2025-03-01T00:00Z",
                         presets=True)
    until = _time_filter("lt", "Until", f"Created before this time. {TIME_HELP}", "2025-03-02T00:00Z")

    class Meta:
        model = Delivery
        fields: list[str] = []
        form = DeliveryFilterForm

    def filter_device(self, deliveries: QuerySet[Delivery], name: str, value: str) -> QuerySet[Delivery]:
        return deliveries.filter(device=device_identity(value))

    def applied(self) -> dict[str, Any]:
        """The filters that are valid and set: an invalid one is left out (and shown with its error)."""
        if not self.is_bound:
            return {}
        self.form.is_valid()  # Validates, so that cleaned_data exists.
        return {
            name: value for name, value in self.form.cleaned_data.items()
            if value not in (None, "") and name not in self.errors
        }

    def applied_query(self) -> str:
        """The applied filters as a query string, as they were typed: for links that keep them."""
        query = QueryDict(mutable=True)
        for name in self.applied():
            query.setlist(name, self.data.getlist(name))
        return query.urlencode()


def _organization_apps(request: HttpRequest | None) -> QuerySet[App]:
    # django-filter calls this with the request to build the field; the schema has none.
    if request is None:
        return App.objects.none()
    return apps_for_organization(organization_for_request(request)).order_by("name", "pk")


class DeliverySearchFilterSet(DeliveryFilterSet):
    """The organization's deliveries across its apps: the list's filters, an `app`, and your event_id or a device."""

    app = django_filters.ModelChoiceFilter(
        queryset=_organization_apps,
        empty_label="Any app",
        error_messages={"invalid_choice": "No such app in your organization."},
        help_text="Only this app's deliveries (in the API, the app's id).",
    )

    class Meta(DeliveryFilterSet.Meta):
        form = DeliverySearchForm

    def identity_given(self) -> bool:
        """Whether a valid event_id or device narrows the search. Without one the page lists nothing (the
        form says why next to the field): every delivery of the organization is what the apps' own lists
        and exports are for."""
        return bool({"event_id", "device"} & set(self.applied()))
