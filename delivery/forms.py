"""Forms for the delivery pages: the rules of the deliveries filters, and "recover failed deliveries since".

They only turn what was typed into values and say, next to the input, what was wrong.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from delivery.erasure import IDENTIFIER_KEYS, subject_from_identifiers
from trackerui.foundation.durations import duration_seconds
from trackerui.foundation.validators import time_in_range

TIME_HELP = ("ISO-8601, UTC unless it says otherwise, e.g. 2025-03-01T00:00Z or 2025-03-01 14:30; "
             "or 1h, 24h, 7d for that long ago.")
TIME_INVALID = "Enter a date and time like 2025-03-01T00:00Z (ISO-8601), or 24h for 24 hours ago."
# "24h", "90m", "7d": that long before now. A unit is required, so a bare number is never a year.
_AGO = re.compile(r"^\s*\d{1,6}[smhd]\s*$", re.IGNORECASE)
UNTIL_NOT_AFTER_SINCE = "Until must be after since."
SEARCH_NEEDS_AN_IDENTITY = "Give your event_id or a device (ifa, gaid or uuid) to search by."


class TimeWidget(forms.TextInput):
    """A text input, so that both ISO-8601 and "24h" fit; static/js/time-input.js puts a picker in local
    time in its place. Its label names the zone (templates/includes/field.html): UTC without JavaScript."""

    is_time_input = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", "data-time-input": "", **(attrs or {})})


class TimeField(forms.DateTimeField):
    """A date and time, in UTC, within the range every backend stores (`time_in_range`), or a
    duration with its unit ("24h") meaning that long before now, for the presets' links."""

    widget = TimeWidget
    # Shows the 1 h, 24 h, 7 d links beside the input (templates/includes/field.html).
    presets = False

    def to_python(self, value: Any) -> datetime | None:
        # A JSON body can send anything: only text (or a time itself) can be a time, and Django
        # would fail on a list, an object, a boolean or a number.
        if value is not None and not isinstance(value, str | date):
            raise forms.ValidationError(TIME_INVALID, code="invalid")
        # Django makes the time aware here, and "999999d" reaches before year 1: both can overflow.
        try:
            if isinstance(value, str) and _AGO.match(value):
                return time_in_range(timezone.now() - timedelta(seconds=duration_seconds(value)))
            result = super().to_python(value)
        except (OverflowError, ValueError):
            # ValueError: a span of nothing ("0h"), which durations refuse.
            raise forms.ValidationError(TIME_INVALID, code="invalid") from None
        return None if result is None else time_in_range(result)


class DeliveryFilterForm(forms.Form):
    """The form under `delivery.filters.DeliveryFilterSet`, which adds the fields: the rules across fields.

    A filter with an error is left out of the list (and shown with its error), so one
    mistyped value never hides the whole page; the API answers 400 naming it.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until <= since:
            self.add_error("until", UNTIL_NOT_AFTER_SINCE)
        return cleaned


class DeliverySearchForm(DeliveryFilterForm):
    """The search across apps needs something that names a few deliveries: your event_id or a device.

    Without either it would list every delivery of the organization, so the page shows a
    hint instead and the API answers 400 naming `event_id`.
    """

    # What a search is by comes first; the list's filters then narrow it.
    field_order = ["event_id", "device", "app"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        identity_given = cleaned.get("event_id") or cleaned.get("device")
        # A device with an error of its own was given; that error is the one to fix.
        if not identity_given and "device" not in self.errors and "event_id" not in self.errors:
            self.add_error("event_id", SEARCH_NEEDS_AN_IDENTITY)
        return cleaned


class RecoverForm(forms.Form):
    since = TimeField(
        label="Failed deliveries created since",
        help_text=TIME_HELP,
        error_messages={"invalid": TIME_INVALID, "required": "Say since when: " + TIME_INVALID},
    )

    @classmethod
    def with_default(cls) -> RecoverForm:
        """Offer the last 24 hours, the window the apps list's health badge looks at."""
        since = (timezone.now() - timedelta(hours=24)).replace(second=0, microsecond=0)
        return cls(initial={"since": since.strftime("%Y-%m-%dT%H:%MZ")})


class ForgetDeviceForm(forms.Form):
    """A device to erase, by any of its identifiers; checked by the API's own rule
    (`delivery/erasure.py::subject_from_identifiers`). `confirmed` is set by the confirm step."""

    ifa = forms.CharField(required=False, max_length=100, label="ifa (iOS advertising id)",
                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    gaid = forms.CharField(required=False, max_length=100, label="gaid (Google advertising id)",
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    uuid = forms.CharField(required=False, max_length=100, label="uuid",
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        identifiers = {name: cleaned[name] for name in IDENTIFIER_KEYS if cleaned.get(name)}
        try:
            cleaned["subject"] = subject_from_identifiers(identifiers)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, messages in error.message_dict.items():
                    self.add_error(name if name in self.fields else None, messages)
            else:
                raise
        return cleaned

    def identifiers(self) -> dict[str, str]:
        """The identifiers as typed, for the confirm step to restate."""
        return {name: self.cleaned_data[name] for name in IDENTIFIER_KEYS if self.cleaned_data.get(name)}


class BackfillForm(forms.Form):
    since = TimeField(
        label="Send this mapping for stored events since",
        help_text=TIME_HELP,
        error_messages={"invalid": TIME_INVALID, "required": "Say since when: " + TIME_INVALID},
    )
    event_field = forms.TypedChoiceField(choices=[(n, n) for n in range(1, 6)], coerce=int, widget=forms.HiddenInput)
