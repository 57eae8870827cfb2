"""What an owner may do that a member may not: the one place that says so.

Owners alone create and revoke API keys and apps' write keys, create apps, set or replace an app's
Chartboost credentials, delete (archive) apps, manage members, create or delete alert
channels and erase a device's data ("Forget a device", OpenDSR erasure requests). Members do
everything else: mappings, retries and recovery, test events and test alerts, pausing delivery,
an app's name and S2S flag. An API key acts for its organization: a `full` key as an
owner, an `ingest` key only on the views that accept it (event ingestion).

A member who tries an owner's action is refused with a 403 that says so, on a page
(`owner_refusal`, `owner_required`) or in the API (`OwnerPermission`,
`api_owner_check`), never with a silent change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import exceptions, permissions

from trackerui.accounts.models import ApiKey, Membership, Organization
from trackerui.accounts.selectors import organization_for_request

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# The owner's actions, worded to finish "Only an owner of <organization> can …".
CREATE_API_KEYS = "create API keys"
REVOKE_API_KEYS = "revoke API keys"
CREATE_APPS = "create apps"
CHANGE_APP_CREDENTIALS = "set or replace an app's Chartboost credentials (app ID and token)"
DELETE_APPS = "delete apps"
MANAGE_MEMBERS = "manage members"
ERASE_DEVICES = "erase a device's data (forget a device, OpenDSR erasure requests)"
MANAGE_ALERT_CHANNELS = "create or delete alert channels"
CREATE_WRITE_KEYS = "create write keys"
REVOKE_WRITE_KEYS = "revoke write keys"

APP_CREDENTIAL_FIELDS = ("chartboost_app_id", "chartboost_app_token")


def is_owner(user: AbstractBaseUser | AnonymousUser, organization: Organization) -> bool:
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(
        organization=organization, user=user, role=Membership.Role.OWNER
    ).exists()


def request_is_owner(request: HttpRequest | Request) -> bool:
    """Whether the request acts as an owner of its organization: a full API key, or an owner signed in."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return auth.scope == ApiKey.Scope.FULL
    organization = organization_for_request(request)
    return organization is not None and is_owner(request.user, organization)


def app_credentials_changed(app: Any, values: Mapping[str, Any]) -> bool:
    """Whether writing `values` to the app would change its app ID or token.

    A blank token means "keep the saved one", as in `mappings.services.app_update`, and
    an app ID equal to the saved one changes nothing, so a member may send the form back
    as it was. Any token that is not blank counts as a change: the saved one is never
    decrypted to compare (only signing a request decrypts it, `mappings/fields.py`).
    """
    for field in APP_CREDENTIAL_FIELDS:
        value = values.get(field)
        if value in (None, ""):
            continue
        if field == "chartboost_app_token":
            return True
        if str(value).strip().lower() != str(getattr(app, field) or "").lower():
            return True
    return False


def owner_refusal(request: HttpRequest, action: str) -> HttpResponse:
    """The dashboard's 403 for a member who tried an owner's action."""
    context = {"action": action, "organization": organization_for_request(request)}
    return render(request, "accounts/owner_required.html", context, status=403)


def owner_required(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator, inside `organization_required`: only an owner gets through."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not request_is_owner(request):
                return owner_refusal(request, action)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def api_owner_message(action: str) -> str:
    return f"Only an owner of this organization can {action}."


def api_owner_check(request: Request, action: str) -> None:
    """For checks that depend on the input (an app's credentials): a 403 unless the request acts as an owner."""
    if not request_is_owner(request):
        raise exceptions.PermissionDenied(api_owner_message(action))


class OwnerPermission(permissions.BasePermission):
    """DRF permission for the methods a view lists in `owner_actions`, e.g. `{"POST": CREATE_APPS}`."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        action = getattr(view, "owner_actions", {}).get(request.method)
        if action is None or request_is_owner(request):
            return True
        self.message = api_owner_message(action)
        return False
