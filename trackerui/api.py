"""What every API view shares: error format, throttling, pagination and the schema's auth scheme.

Errors are JSON: field errors as `{"field": ["..."]}`, anything else as
`{"detail": ...}`. Services validate with Django's `full_clean()`, so a Django
`ValidationError` is turned into the same 400 a serializer error gives.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from trackerui.accounts.models import ApiKey
from trackerui.client_ip import client_ip
from trackerui.rate_limits import Rate, rate_limit_hit

DEFAULT_THROTTLE_SCOPE = "api"


class Conflict(exceptions.APIException):
    """The request is valid but the object is not in a state that allows it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


def _field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    # Model-wide errors (constraints, clean()) come under Django's "__all__"; DRF calls
    # the same thing "non_field_errors", and the API speaks DRF.
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
        for field, messages in error.message_dict.items()
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here because rest_framework.views imports this module (for the throttle
    # class in DEFAULT_THROTTLE_CLASSES) while it is itself being imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_field_errors(exc))
    elif isinstance(exc, Http404):
        # Keep the selector's own words ("No such app.") rather than DRF's generic ones.
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A bare list of messages has no field to name, so it is the detail.
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response


class ApiKeyRateThrottle(BaseThrottle):
    """Per-API-key rate limits, by scope, on the one atomic counter (trackerui/rate_limits.py).

    Every API view is throttled under the scope "api" unless it names another with
    `throttle_scope` (ingestion uses "ingest", with a higher rate). The counter is kept
    per API key (its public prefix), or per user for the browser session, or per client
    address for anonymous calls to the public schema and docs.
    """

    retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "throttle_scope", None) or DEFAULT_THROTTLE_SCOPE
        # Read the rates on every request, not once at import time, so a deployment's
        # settings and a test's override_settings both take effect.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {scope!r}.")
        hit = rate_limit_hit(f"api:{scope}:{self._ident(request)}", Rate.parse(rates[scope]))
        self.retry_after = hit.retry_after
        return hit.allowed

    def wait(self) -> int | None:
        """Seconds until the window ends: DRF sends it as `Retry-After`."""
        return self.retry_after

    def _ident(self, request: Request) -> str:
        if isinstance(request.auth, ApiKey):
            return f"key:{request.auth.prefix}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        # The same client address as the sign-in limits (PROXY_COUNT), so one setting says
        # how many proxies stand in front.
        return f"addr:{client_ip(request)}"


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


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


def paginated_response(
    *, request: Request, view: Any, queryset: Any, serializer_class: type[serializers.Serializer]
) -> Response:
    """One page of `queryset` as `{"count", "next", "previous", "results"}`."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
