"""What every API view shares: the error format and pagination.

Errors are JSON: field errors as `{"field": ["..."]}`, anything else as
`{"detail": ...}`. Services validate with Django's `full_clean()`, so a Django
`ValidationError` is turned into the same 400 a serializer error gives.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


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


def _messages(errors: Any, path: str = "") -> list[str]:
    """A nested serializer's errors (a dict, or a list with one entry per item) as flat messages, each
    prefixed with where it applies inside the field ("0.identity_type: ..."), so every field error
    of the API is a list of strings, as the schema says."""
    if isinstance(errors, dict):
        return [message for key, value in errors.items()
                for message in _messages(value, path if key == api_settings.NON_FIELD_ERRORS_KEY else _join(path, key))]
    if isinstance(errors, list):
        nested = any(isinstance(item, dict | list) for item in errors)
        return [message for index, item in enumerate(errors)
                for message in _messages(item, _join(path, str(index)) if nested else path)]
    return [f"{path}: {errors}" if path else str(errors)]


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_field_errors(exc))
    elif isinstance(exc, Http404):
        # Keep the selector's own words ("No such app.") rather than DRF's generic ones.
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        response.data = {field: _messages(errors) for field, errors in response.data.items()}
    if response is not None and isinstance(response.data, list):
        # A bare list of messages has no field to name, so it is the detail.
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(
    *, request: Request, view: Any, queryset: Any, serializer_class: type[serializers.Serializer]
) -> Response:
    """One page of `queryset` as `{"count", "next", "previous", "results"}`."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
