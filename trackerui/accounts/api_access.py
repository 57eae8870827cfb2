"""DRF's side of API keys: the rate limits counted per key, and the schema's auth scheme."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from trackerui.accounts.models import ApiKey
from trackerui.foundation.client_ip import client_ip

DEFAULT_THROTTLE_SCOPE = "api"


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per-API-key rate limits, by scope.

    Every API view is throttled under the scope "api" unless it names another with
    `throttle_scope` (ingestion uses "ingest", with a higher rate). The counter is kept
    per API key (its public prefix), or per user for the browser session, or per client
    address for anonymous calls to the public schema and docs.
    """

    scope_attr = "throttle_scope"

    def __init__(self) -> None:
        # The scope, and so the rate, is known only once the view is known (allow_request).
        pass

    def get_rate(self) -> str | None:
        # Read the rates on every request, not once at import time, so a deployment's
        # settings and a test's override_settings both take effect.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.")
        return rates[self.scope]

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None) or DEFAULT_THROTTLE_SCOPE
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_ident(self, request: Request) -> str:
        # The same client address as the sign-in limits (PROXY_COUNT), instead of DRF's
        # NUM_PROXIES, so one setting says how many proxies stand in front.
        return client_ip(request)


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
