"""DRF authentication by `Authorization: Bearer <api key>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions

from trackerui.accounts.models import ApiKey
from trackerui.accounts.selectors import api_key_for_raw, organization_for_request

if TYPE_CHECKING:
    # Only for annotations: DRF imports this module while rest_framework.views is still loading.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        if not raw_key:
            raise exceptions.AuthenticationFailed("No API key after 'Bearer'.")
        api_key = api_key_for_raw(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


INGEST_SCOPE_MESSAGE = (
    "This API key has the ingest scope: it may only send events (POST /api/v1/apps/{app_id}/events/). "
    "Use a key with the full scope for anything else."
)


class IsOrganizationMember(permissions.BasePermission):
    """An API key, or a signed-in user who belongs to an organization.

    An `ingest` key passes only on views that declare `accepts_ingest_keys = True`.
    """

    message = "Authentication credentials were not provided."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            if request.auth.scope == ApiKey.Scope.INGEST and not getattr(view, "accepts_ingest_keys", False):
                self.message = INGEST_SCOPE_MESSAGE
                return False
            return True
        if not request.user or not request.user.is_authenticated:
            return False
        return organization_for_request(request) is not None
