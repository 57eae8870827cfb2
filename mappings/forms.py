"""Forms for apps and mappings.

The forms only turn posted text into Python values and show errors next to their
fields. Every rule lives on the models (`full_clean`), so a form never repeats one:
where a form field would answer with Django's generic wording, it borrows the
model field's own message instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.boundfield import BoundWidget

from mappings.event_fields import EVENT_FIELD_CHOICES, EVENT_FIELDS, NON_SEQUENTIAL_FIELDS, EventFieldInfo
from mappings.fields import SealedSecret
from mappings.models import App, Mapping, validate_chartboost_app_id
from mappings.services import APP_FIELDS, MAPPING_FIELDS


def _model_message(model: type[App | Mapping], field: str, code: str) -> str:
    return model._meta.get_field(field).error_messages[code]


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, each message next to its field."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error)


class AppForm(forms.ModelForm):
    """Create or edit an app. The token is write-only: it is never rendered back."""

    class Meta:
        model = App
        fields = list(APP_FIELDS)
        widgets = {
            "chartboost_app_token": forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
            ),
            "chartboost_app_id": forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        }
        help_texts = {
            "chartboost_app_id": "24 hexadecimal characters, from your app's page in the Chartboost dashboard.",
            "chartboost_app_token": "64 hexadecimal characters, next to the app ID in Chartboost. "
            "It is stored encrypted and never shown again: only its last characters are.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["platform"].error_messages["invalid_choice"] = _model_message(App, "platform", "invalid_choice")
        # The model's pattern check explains the format; a bare length limit here would
        # hide that explanation behind "at most 24 characters".
        app_id = self.fields["chartboost_app_id"]
        app_id.max_length = None
        app_id.validators = [v for v in app_id.validators if not isinstance(v, MaxLengthValidator)]
        app_id.widget.attrs.pop("maxlength", None)
        # Checked here, the model's own rule: a field the form refused is left out of the model's
        # checks, so a 25-character ID gets this one message, not a second about its length.
        app_id.validators.append(validate_chartboost_app_id)
        if self.instance.pk:
            # The saved token is sealed and never decrypted for a form: the input starts empty,
            # and blank keeps the saved token (`clean_chartboost_app_token`).
            self.initial["chartboost_app_token"] = ""
            token = self.fields["chartboost_app_token"]
            token.required = False
            token.help_text = (
                f"Saved token: {self.instance.chartboost_app_token_hint}. Leave blank to keep it, "
                "or paste a new 64-character token to replace it."
            )

    @property
    def token_not_kept(self) -> bool:
        """A token was typed into a form sent back with errors: the page does not send it back to the
        browser, and says so next to the field."""
        return self.is_bound and bool(self.errors) and bool(self.data.get("chartboost_app_token"))

    def lock_credentials(self) -> None:
        """Show the app ID and token read-only, for a member (only owners change them).

        A disabled field keeps the saved value whatever is posted; the view refuses a post
        that tries to change them before it gets here, so nothing is dropped silently.
        """
        for field in ("chartboost_app_id", "chartboost_app_token"):
            self.fields[field].disabled = True
            self.fields[field].required = False
        self.fields["chartboost_app_token"].help_text = "Only an owner can replace the token."
        self.fields["chartboost_app_id"].help_text = "Only an owner can change the app ID."

    def clean_chartboost_app_token(self) -> str | SealedSecret:
        token = self.cleaned_data.get("chartboost_app_token", "")
        if not token and self.instance.pk:
            # Blank on edit keeps the saved token (the input never shows it).
            return self.instance.chartboost_app_token
        return token


@dataclass(frozen=True)
class EventFieldChoice:
    """One radio button of the Event ID picker with the explanation shown beside it."""

    radio: BoundWidget
    info: EventFieldInfo
    taken_by: Mapping | None


class MappingForm(forms.ModelForm):
    class Meta:
        model = Mapping
        fields = list(MAPPING_FIELDS)
        widgets = {
            "event_field": forms.RadioSelect,
            "event_name": forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        }
        labels = {
            "event_name": "Tracked event name",
            "event_label": "Label sent to Chartboost",
            "main_level_property": "Read main_level from property",
            "main_level_value": "Fixed main_level",
            "sub_level_property": "Read sub_level from property",
            "sub_level_value": "Fixed sub_level",
            "description_property": "Read description from property",
            "description": "Fixed description",
            "active": "Active: send matching events to Chartboost",
        }
        help_texts = {
            "event_name": "Exactly as your game sends it, e.g. level_complete.",
            "event_label": "Chartboost shows this label in its dashboard. Leave blank to send the event name.",
            "main_level_property": "The event property holding the level number (a non-zero integer). "
            "Leave blank to always send the fixed value below.",
            "main_level_value": "Sent when no property is named. Never 0: use 1 when the event has no number.",
            "sub_level_property": "The event property holding the sub-level (an integer, 0 or more). "
            "When it is missing, the fixed value below is sent.",
            "sub_level_value": "0 or more.",
            "description_property": "The event property holding a description, e.g. the level's name.",
            "description": "Sent when the property is missing. When both are empty, the label is sent.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        event_field = self.fields["event_field"]
        # A radio button per Event ID, without the "---------" a select would offer.
        event_field.choices = EVENT_FIELD_CHOICES
        event_field.error_messages["invalid_choice"] = _model_message(Mapping, "event_field", "invalid_choice")
        # No Event ID is picked for the user: each carries one type of data, and a preselected one
        # would send the event as whatever came first. It is a required choice, refused when missing.
        event_field.error_messages["required"] = "Pick the Event ID this event is sent as."
        # The label follows the event name until overridden; the placeholder shows that,
        # and static/js/mapping-form.js keeps it in step as the name is typed.
        self.fields["event_label"].widget.attrs.update(
            {"placeholder": self["event_name"].value() or "the event name", "data-label-input": ""}
        )
        self.fields["event_name"].widget.attrs["data-event-name-input"] = ""
        self._taken = {
            mapping.event_field: mapping for mapping in self.instance.app.mappings.exclude(pk=self.instance.pk)
        }

    @property
    def event_field_choices(self) -> list[EventFieldChoice]:
        return [
            EventFieldChoice(radio=radio, info=EVENT_FIELDS[int(radio.data["value"])],
                             taken_by=self._taken.get(int(radio.data["value"])))
            for radio in self["event_field"]
        ]

    @property
    def non_sequential_fields(self) -> str:
        """For the page's script: the Event IDs whose level inputs do not apply."""
        return ",".join(str(number) for number in sorted(NON_SEQUENTIAL_FIELDS))

    @property
    def level_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in
                ("main_level_property", "main_level_value", "sub_level_property", "sub_level_value")]

    @property
    def level_errors(self) -> bool:
        return any(field.errors for field in self.level_fields)


class MappingCopyForm(forms.Form):
    """Which app of the organization to copy mappings from (any but the one they are copied into)."""

    from_app = forms.ModelChoiceField(
        queryset=App.objects.none(), label="Copy the mappings of",
        empty_label=None,
        help_text="Each mapping is copied to the same Event ID; one already mapped here is left as it is.",
    )

    def __init__(self, *args: Any, apps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_app"].queryset = apps
