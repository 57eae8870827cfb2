"""Forms for the delivery pages: the deliveries list's filters, and "recover failed deliveries since".

They only turn what was typed into values and say, next to the input, what was wrong.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from delivery.ingest.schema import MAX_EVENT_ID_LENGTH, MAX_UUID_LENGTH
from delivery.models import Delivery
from mappings.event_fields import EVENT_FIELDS
from trackerui.durations import duration_seconds
from trackerui.validators import time_in_range

TIME_HELP = ("ISO-8601, UTC unless it says otherwise, e.g. 2025-03-01T00:00Z or 2025-03-01 14:30; "
             "or 1h, 24h, 7d for that long ago.")
TIME_INVALID = "Enter a date and time like 2025-03-01T00:00Z (ISO-8601), or 24h for 24 hours ago."
# "24h", "90m", "7d": that long before now. A unit is required, so a bare number is never a year.
_AGO = re.compile(r"^\s*\d{1,6}[smhd]\s*$", re.IGNORECASE)


class TimeWidget(forms.TextInput):
    """A text input, so that both ISO-8601 and "24h" fit; static/js/time-input.js adds a picker."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", "data-time-input": "", **(attrs or {})})


class TimeField(forms.DateTimeField):
    """A date and time, in UTC, within the range every backend stores (`time_in_range`), or a
    duration with its unit ("24h") meaning that long before now, for the presets' links."""

    widget = TimeWidget
    # Shows the 1 h, 24 h, 7 d links beside the input (templates/includes/field.html).
    presets = False

    def to_python(self, value: Any) -> datetime | None:
        # Django makes the time aware here, and "999999d" reaches before year 1: both can overflow.
        try:
            if isinstance(value, str) and _AGO.match(value):
                return time_in_range(timezone.now() - timedelta(seconds=duration_seconds(value)))
            result = super().to_python(value)
        except OverflowError:
            raise forms.ValidationError(TIME_INVALID, code="invalid") from None
        return None if result is None else time_in_range(result)


def _time_field(label: str, placeholder: str, *, presets: bool = False) -> TimeField:
    field = TimeField(
        label=label,
        required=False,
        help_text=TIME_HELP,
        error_messages={"invalid": TIME_INVALID},
        widget=TimeWidget(attrs={"placeholder": placeholder}),
    )
    field.presets = presets
    return field


class DeliveryFilterForm(forms.Form):
    """The API's list filters, under the same names, as a GET form."""

    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *Delivery.Status.choices],
        error_messages={"invalid_choice": "Pick one of: " + ", ".join(Delivery.Status.values) + "."},
    )
    event_field = forms.TypedChoiceField(
        label="Event ID",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any Event ID"), *((n, f"{n}: {info.definition}") for n, info in EVENT_FIELDS.items())],
        error_messages={"invalid_choice": "Event ID must be 1, 2, 3, 4 or 5."},
    )
    device = forms.CharField(
        required=False,
        # The longest identifier an event may carry.
        max_length=MAX_UUID_LENGTH,
        help_text="ifa, gaid or uuid; dashes and case do not matter.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    event_id = forms.CharField(
        label="Event id",
        required=False,
        max_length=MAX_EVENT_ID_LENGTH,
        help_text="Your event_id for the tracked event.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    since = _time_field("Since", "2025-03-01T00:00Z", presets=True)
    until = _time_field("Until", "2025-03-02T00:00Z")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until <= since:
            self.add_error("until", "Until must be after since.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The filters that are valid and set, as `deliveries_for_app` takes them.

        A filter with an error is left out (and shown with its error), so one mistyped
        value never hides the whole list.
        """
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return {
            name: value for name, value in self.cleaned_data.items()
            if value not in (None, "") and name not in self.errors
        }


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
