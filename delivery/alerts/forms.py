"""The alerts page's forms: a new channel, and the organization's threshold."""

from __future__ import annotations

from django import forms

from delivery.alerts.models import AlertChannel, AlertSettings


class ChannelCreateForm(forms.Form):
    kind = forms.ChoiceField(choices=AlertChannel.Kind.choices, label="Kind")
    target = forms.CharField(
        max_length=500, label="Send to",
        help_text="E-mail addresses (comma-separated), or the URL a webhook or Slack message is posted to "
        "(https, to a public address).")


class ThresholdForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = ["success_rate_threshold"]
        labels = {"success_rate_threshold": "Alert when the success rate falls below (%)"}

    def clean_success_rate_threshold(self) -> int:
        value = self.cleaned_data["success_rate_threshold"]
        if not 1 <= value <= 100:
            raise forms.ValidationError("Give a percentage from 1 to 100.")
        return value
