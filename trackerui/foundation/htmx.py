"""Telling an htmx request from a plain one, so a view can answer with just the part that changed.

htmx marks each of its requests with the `HX-Request` header. A page that answers such a
request with a partial says so in `Vary`, so no cache serves the partial for the full page.
Without JavaScript the same forms post and redirect as plain HTML forms.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response
