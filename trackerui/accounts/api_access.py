"""DRF's side of API keys: who a request counts as, the rate limits counted per key, and the schema's auth scheme."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from trackerui.accounts.models import ApiKey
from trackerui.foundation.client_ip import client_ip
from trackerui.foundation.rate_limit_headers import rate_limit_note
from trackerui.foundation.rate_limits import Rate, rate_limit_hit

DEFAULT_THROTTLE_SCOPE = "api"


class ApiKeyRateThrottle(BaseThrottle):
    """Per-API-key rate limits, by scope, on the one atomic counter (trackerui/foundation/rate_limits.py).

    Every API view is throttled under the scope "api" unless it names another with
    `throttle_scope` (ingestion uses "ingest", with a higher rate). The counter is kept
    per API key (its public prefix), or per user for the browser session, or per client
    address for anonymous calls to the public schema and docs. The answer says how much is
    left (trackerui/foundation/rate_limit_headers.py): the scope is the policy's name.
    """

    retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "throttle_scope", None) or DEFAULT_THROTTLE_SCOPE
        # Read the rates on every request, not once at import time, so a deployment's
        # settings and a test's override_settings both take effect.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {scope!r}.")
        rate = Rate.parse(rates[scope])
        hit = rate_limit_hit(f"api:{scope}:{request_owner(request) or f'addr:{client_ip(request)}'}", rate)
        rate_limit_note(request._request, policy=scope, rate=rate, hit=hit)
        self.retry_after = hit.retry_after
        return hit.allowed

    def wait(self) -> int | None:
        """Seconds until the window ends: DRF sends it as `Retry-After`."""
        return self.retry_after


def request_owner(request: Request) -> str | None:
    """Who an authenticated API request counts as: its API key ("key:cbt_ab12cd34"), else its user ("user:7").

    None when anonymous: the throttle then counts the client address, the same one as the
    sign-in limits (PROXY_COUNT), so one setting says how many proxies stand in front.
    """
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.prefix}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <api key>` as the schema's security scheme."""

    target_class = "trackerui.accounts.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer cbt_…`. Create one on the API keys page "
            "or with `python manage.py create_api_key <organization>`.",
        }
