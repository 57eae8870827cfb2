"""Account pages: password reset, switching organization, managing API keys, members and invitations."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from trackerui.accounts import roles
from trackerui.accounts.decorators import organization_required
from trackerui.accounts.forms import ApiKeyCreateForm, InvitationForm, MemberRoleForm, OrganizationSwitchForm
from trackerui.accounts.models import Membership
from trackerui.accounts.password_reset_limits import password_reset_allowed
from trackerui.accounts.selectors import (
    SESSION_ORGANIZATION_KEY,
    api_key_changes,
    api_key_get_for_organization,
    api_keys_for_organization,
    invitation_get_for_invitee,
    invitation_get_for_organization,
    invitations_pending_for_organization,
    invitations_pending_for_user,
    membership_changes,
    membership_get_for_organization,
    membership_of,
    memberships_for_organization,
    organization_for_request,
)
from trackerui.accounts.services import (
    api_key_create,
    api_key_revoke,
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_withdraw,
    membership_leave,
    membership_remove,
    membership_set_role,
)
from trackerui.foundation.client_ip import client_ip

logger = logging.getLogger(__name__)

# How many of the latest audit entries the API keys and members pages show.
RECENT_CHANGES = 10


class RateLimitedPasswordResetView(PasswordResetView):
    """Django's password reset, sending at most a few mails per client address and per e-mail an hour."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        address = client_ip(self.request)
        if password_reset_allowed(client_address=address, email=form.cleaned_data["email"]):
            return super().form_valid(form)
        # The same "check your mail" page as ever, so the answer tells nothing about which
        # addresses have an account, nor that a limit was reached.
        logger.warning("Password reset refused for client %s: over the hourly limit, no mail sent.", address)
        return HttpResponseRedirect(self.get_success_url())


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    form = OrganizationSwitchForm(request.POST, user=request.user)
    if form.is_valid():
        organization = form.cleaned_data["organization"]
        request.session[SESSION_ORGANIZATION_KEY] = organization.pk
        messages.success(request, f"You are now working in {organization.name}.")
    else:
        messages.error(request, "You do not belong to that organization.")
    # The page the user came from may belong to the previous organization, so start over.
    return redirect("app-list")


@organization_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    # Members see the keys; only an owner creates one.
    if request.method == "POST" and not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.CREATE_API_KEYS)
    organization = organization_for_request(request)
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        api_key, raw_key = api_key_create(organization=organization, created_by=request.user, **form.cleaned_data)
        # The raw key is rendered in this response only and never stored, so it is
        # shown exactly once; no-store keeps it out of the browser's cache as well.
        response = render(request, "accounts/api_key_created.html", {"api_key": api_key, "raw_key": raw_key})
        response["Cache-Control"] = "no-store"
        return response
    context = {"form": form, "api_keys": api_keys_for_organization(organization),
               "recent_changes": api_key_changes(organization)[:RECENT_CHANGES]}
    return render(request, "accounts/api_keys.html", context)


@organization_required
@roles.owner_required(roles.REVOKE_API_KEYS)
@require_POST
def api_key_revoke_view(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = api_key_get_for_organization(organization_for_request(request), api_key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"API key {api_key.prefix}… is revoked: requests using it are refused from now on.")
    return redirect("api-keys")


def invitations_answer_url(request: HttpRequest) -> str:
    """Where an invited user answers, as a link for their e-mail."""
    return request.build_absolute_uri(reverse("invitation-list"))


@organization_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    # Members see who is in; only an owner invites someone.
    if request.method == "POST" and not roles.request_is_owner(request):
        return roles.owner_refusal(request, roles.MANAGE_MEMBERS)
    organization = organization_for_request(request)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitation_create(organization=organization, invitee=form.cleaned_data["invitee"],
                                           invited_by=request.user, answer_url=invitations_answer_url(request))
        except ValidationError as error:
            form.add_error("invitee", error.message_dict["invitee"])
        else:
            # The same words whether or not such a user exists: the page must not tell.
            messages.success(request, f"Invitation sent to {invitation.invitee}. They join {organization.name} "
                                      "once they accept it.")
            return redirect("members")
    context = {
        "form": form,
        "memberships": memberships_for_organization(organization),
        "invitations": invitations_pending_for_organization(organization),
        "role_choices": Membership.Role.choices,
        "recent_changes": membership_changes(organization)[:RECENT_CHANGES],
    }
    return render(request, "accounts/members.html", context)


@organization_required
@roles.owner_required(roles.MANAGE_MEMBERS)
@require_POST
def invitation_withdraw_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get_for_organization(organization_for_request(request), invitation_id)
    try:
        invitation_withdraw(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The invitation to {invitation.invitee} is withdrawn.")
    return redirect("members")


@organization_required
@require_POST
def member_leave(request: HttpRequest) -> HttpResponse:
    """The signed-in user leaves the organization they are working in."""
    organization = organization_for_request(request)
    try:
        membership_leave(membership=membership_of(request.user, organization))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("members")
    # The next page works in another of their organizations, if any (selectors.organization_for_request).
    request.session.pop(SESSION_ORGANIZATION_KEY, None)
    messages.success(request, f"You left {organization.name}.")
    return redirect("app-list")


@login_required
@require_http_methods(["GET"])
def invitations(request: HttpRequest) -> HttpResponse:
    """The invitations waiting for the signed-in user's answer. Open to users in no organization yet."""
    return render(request, "accounts/invitations.html", {"invitations": invitations_pending_for_user(request.user)})


@login_required
@require_POST
def invitation_accept_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get_for_invitee(request.user, invitation_id)
    working_in = organization_for_request(request)
    try:
        invitation_accept(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("invitation-list")
    if working_in is not None:
        # Joining never moves the user: the organization they work in stays chosen until they switch.
        request.session[SESSION_ORGANIZATION_KEY] = working_in.pk
    joined = invitation.organization.name
    if working_in is None:
        messages.success(request, f"You joined {joined} as a member.")
    else:
        messages.success(request, f"You joined {joined} as a member. You are still working in {working_in.name}: "
                                  f"switch organization at the top of the page to work in {joined}.")
    return redirect("invitation-list")


@login_required
@require_POST
def invitation_decline_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get_for_invitee(request.user, invitation_id)
    try:
        invitation_decline(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"You declined the invitation to {invitation.organization.name}.")
    return redirect("invitation-list")


@organization_required
@roles.owner_required(roles.MANAGE_MEMBERS)
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_get_for_organization(organization_for_request(request), membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner or member.")
        return redirect("members")
    try:
        membership_set_role(membership=membership, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        role = "an owner" if membership.role == Membership.Role.OWNER else "a member"
        messages.success(request, f"{membership.user.get_username()} is now {role}.")
    return redirect("members")


@organization_required
@roles.owner_required(roles.MANAGE_MEMBERS)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    organization = organization_for_request(request)
    membership = membership_get_for_organization(organization, membership_id)
    try:
        membership_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.get_username()} is no longer in {organization.name}.")
    return redirect("members")
