"""Every answer under /api/ (and the Segment-compatible /v1/) is JSON, whatever happened and whatever DEBUG is
(docs/design.md).

The checks come in this order, each before the next can run:

0. the request's shape, before anything reads it (`ApiErrorsMiddleware`): a query string over
   4 KiB (414), a header over 8 KiB or more than 100 headers (431), a body sent chunked,
   without a Content-Length, which Django would read as empty (411). gunicorn's own limits
   sit above these (gunicorn.conf.py), so it lets such requests through to be answered here;
1. an unknown path: the catch-all route `api_not_found` (Django's DEBUG 404 page would
   otherwise bypass `handler404`);
2. a body too large (413): `ApiErrorsMiddleware.process_view` by Content-Length, before
   authentication, and the parser by the bytes it reads;
3. an unsupported Content-Type (415): DRF, from the parsers a view accepts;
4. a body nested too deep or not parseable (400): `JsonParser`;
5. an internal error (500): `ApiErrorsMiddleware.process_exception`, logged, no traceback.

Anything else a lower layer answered as HTML (a CSRF or a host check, say) is turned
into `{"detail": ...}` with the same status on its way out.

The same holds for the paths outside /api/ that the OpenAPI schema documents
(`SCHEMA_PATHS_OUTSIDE_API`: the deliveries CSV export), whose errors the schema says are
JSON: an id their route does not match (`-1`, `abc`) is a JSON 404 too, not a page.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import IO, Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# The OpenAPI schema's paths that are not under API_PREFIX: the deliveries CSV export is a DRF
# view at a page's path (delivery/export.py). Matched whatever stands for the app id, so an id
# the route rejects is answered here too. tests/test_api_errors.py checks every path the
# schema lists, so a new one outside /api/ cannot be forgotten.
SCHEMA_PATHS_OUTSIDE_API = (re.compile(r"/apps/[^/]+/deliveries/export\.csv"),)
NOT_FOUND_DETAIL = "Not found."
# The Segment-compatible tracking API (delivery/api_segment.py) answers JSON the same way.
SEGMENT_PREFIX = "/v1/"
# Apps, mappings and recovery bodies are a few hundred bytes; a view that takes more
# (ingestion) says so with a `max_body_bytes` attribute.
DEFAULT_MAX_BODY_BYTES = 256 * 1024
# Deeper than this, a body is not data any endpoint reads. The limit also keeps every
# later walk over the document (serializers, json.dumps) far from the recursion limit.
MAX_JSON_DEPTH = 64
MAX_QUERY_STRING_BYTES = 4 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_HEADER_FIELDS = 100
SERVER_ERROR_DETAIL = "Something went wrong on our side. It has been logged; try again later."


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is over {_size(limit)}: send less in one request.")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"


def max_body_bytes(view: Any) -> int:
    """The largest body `view` reads (a view function or class, or a DRF view instance)."""
    view_class = getattr(view, "cls", None) or view
    return getattr(view_class, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)


def declared_size_check(request: HttpRequest, limit: int) -> None:
    """Raise PayloadTooLarge when the Content-Length says the body is over `limit`."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        # Django reads such a body as empty; it then fails as "not JSON".
        return
    if declared > limit:
        raise PayloadTooLarge(limit)


def body_read(stream: IO[bytes] | HttpRequest | None, limit: int) -> bytes:
    """At most `limit` bytes of the body, counted as read: a chunked body has no Content-Length."""
    if stream is None:
        return b""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(limit)
    return body


def json_document_parse(body: bytes) -> Any:
    """The JSON document in `body`, or a ParseError (400) that says what is wrong with it."""
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise exceptions.ParseError("The body is not valid JSON: it is not UTF-8 text.") from None
    except RecursionError:
        raise exceptions.ParseError(_too_deep()) from None
    except ValueError as error:
        raise exceptions.ParseError(f"The body is not valid JSON: {error}") from None
    if _deeper_than(document, MAX_JSON_DEPTH):
        raise exceptions.ParseError(_too_deep())
    return document


def _too_deep() -> str:
    return f"The body is not valid JSON we can read: it is nested more than {MAX_JSON_DEPTH} levels deep."


def _refuse_constant(name: str) -> float:
    # Python's json module accepts NaN and Infinity; JSON does not, and no database stores them.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}… is too large")
    return value


def _deeper_than(document: Any, limit: int) -> bool:
    # Iterative, so no document can exhaust the stack however it is nested.
    if not isinstance(document, dict | list):
        return False
    stack: list[tuple[int, Any]] = [(1, document)]
    while stack:
        depth, item = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((depth + 1, child) for child in children if isinstance(child, dict | list))
    return False


class JsonParser(BaseParser):
    """DRF's JSON parser with our limits: size by bytes read, nesting depth, no NaN.

    Set as DEFAULT_PARSER_CLASSES, so every API view reads bodies this way.
    """

    media_type = "application/json"

    def parse(self, stream: IO[bytes] | None, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        view = (parser_context or {}).get("view")
        return json_document_parse(body_read(stream, max_body_bytes(view)))


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The last route: any /api/ path no other route matches (even with DEBUG on)."""
    return JsonResponse({"detail": NOT_FOUND_DETAIL}, status=status.HTTP_404_NOT_FOUND)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404 (`handler404`): JSON under /api/ and the schema's other paths, the dashboard's page
    elsewhere."""
    if _is_api(request):
        return api_not_found(request)
    return page_not_found(request, exception)


class ApiErrorsMiddleware:
    """First in MIDDLEWARE, so it sees every answer under /api/ on its way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request) and (refusal := _shape_refusal(request)) is not None:
            return refusal
        response = self.get_response(request)
        if _is_api(request) and response.status_code >= 400 and not _is_json(response):
            return _json_error(response.status_code)
        return response

    def process_view(self, request: HttpRequest, view_func: Callable[..., HttpResponse], view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        # An unknown path answers 404 whatever its body.
        if not _is_api(request) or view_func is api_not_found:
            return None
        limit = max_body_bytes(view_func)
        try:
            declared_size_check(request, limit)
        except PayloadTooLarge as too_large:
            return JsonResponse({"detail": str(too_large.detail)}, status=too_large.status_code)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Django answers these with their own 4xx, which __call__ then turns into JSON.
        if not _is_api(request) or isinstance(exception, Http404 | PermissionDenied | SuspiciousOperation
                                                         | BadRequest):
            return None
        logger.exception("Internal error answering %s %s", request.method, request.path)
        response = JsonResponse({"detail": SERVER_ERROR_DETAIL}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        # Logged above, with the traceback; Django need not log it again without one.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def _shape_refusal(request: HttpRequest) -> JsonResponse | None:
    """A JSON refusal of a request too large or too odd in its line and headers to read, else None."""
    if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_STRING_BYTES:
        return JsonResponse({"detail": f"The query string is over {_size(MAX_QUERY_STRING_BYTES)}."},
                            status=status.HTTP_414_REQUEST_URI_TOO_LONG)
    headers = [value for name, value in request.META.items()
               if name.startswith("HTTP_") or name in {"CONTENT_TYPE", "CONTENT_LENGTH"}]
    if len(headers) > MAX_HEADER_FIELDS or any(len(str(value)) > MAX_HEADER_BYTES for value in headers):
        return JsonResponse(
            {"detail": f"The headers are too large: at most {MAX_HEADER_FIELDS}, each under "
                       f"{_size(MAX_HEADER_BYTES)}."},
            status=status.HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE,
        )
    if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
        return JsonResponse({"detail": "Send the body with a Content-Length: a chunked body is not read."},
                            status=status.HTTP_411_LENGTH_REQUIRED)
    return None


def _is_api(request: HttpRequest) -> bool:
    """Whether the request is for a path the OpenAPI schema documents, or the Segment-compatible API: JSON errors."""
    return request.path.startswith((API_PREFIX, SEGMENT_PREFIX)) or any(
        pattern.fullmatch(request.path) for pattern in SCHEMA_PATHS_OUTSIDE_API
    )


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _json_error(status_code: int) -> JsonResponse:
    if status_code >= 500:
        detail = SERVER_ERROR_DETAIL
    elif status_code == status.HTTP_404_NOT_FOUND:
        # The same words as `api_not_found`, whether or not DEBUG's own 404 page came first.
        detail = NOT_FOUND_DETAIL
    else:
        try:
            detail = f"{HTTPStatus(status_code).phrase}."
        except ValueError:
            detail = "The request was refused."
    return JsonResponse({"detail": detail}, status=status_code)
