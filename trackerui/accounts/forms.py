"""Forms for the account pages: choosing an organization, creating API keys, inviting members."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from trackerui.accounts.models import ApiKey, Membership, Organization
from trackerui.accounts.selectors import organizations_for_user


class OrganizationSwitchForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)

    def __init__(self, *args: object, user: AbstractBaseUser, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Only the user's own organizations are valid choices, so a forged id is refused.
        self.fields["organization"].queryset = organizations_for_user(user)


class ApiKeyCreateForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scope"]
        widgets = {"scope": forms.RadioSelect}
        help_texts = {
            "name": "What uses this key, e.g. “game backend (production)”.",
            "scope": "A key inside a game's backend only needs to send events: give it the ingest scope, "
            "so a leaked key cannot change or delete apps.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # A post without a scope (a script, an older form) gets the default, as the API's model does.
        self.fields["scope"].required = False

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or ApiKey.Scope.FULL


class InvitationForm(forms.Form):
    invitee = forms.CharField(
        max_length=254, label="Username or e-mail",
        help_text="They join once they accept, on their next visit. The invitation expires after 7 days.",
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
