"""`POST /v1/track` and `POST /v1/batch`: the Segment HTTP tracking API, for Segment's and RudderStack's SDKs.

An app's write key (mappings/models.py::WriteKey) names the app: HTTP Basic with the key as
the user name and no password, as the SDKs send it, or `writeKey` in the body. The calls are
read by `delivery/ingest/segment.py` and ingested by `delivery/ingest/service.py::events_ingest`,
the very service behind `POST /api/v1/apps/{app_id}/events/`, so every check, duplicate,
mapping and rejection is the same. The answers are Segment's: 200 `{"success": true}` once the
body was read, whatever became of each call (rejected calls are counted and shown in the
dashboard's rejected-events panel); 400 for a body that is not JSON or not calls; 401 without a
live write key; 413 over 500 KB; 429 with `Retry-After`; a 5xx only when nothing was stored.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from delivery.ingest.segment import NotCalls, calls_read, track_events
from delivery.ingest.service import calls_ignored_count, events_ingest
from mappings.models import WriteKey
from mappings.selectors import write_key_for_raw
from trackerui.foundation.api_errors import PayloadTooLarge, body_read, json_document_parse
from trackerui.foundation.rate_limit_headers import rate_limit_note
from trackerui.foundation.rate_limits import Rate, rate_limit_hit

# Segment's own limit for a batch; the SDKs split their batches below it.
MAX_BODY_BYTES = 500 * 1024
# Write keys count against the ingestion rate, each on its own counter.
THROTTLE_SCOPE = "ingest"
BASIC_REALM = 'Basic realm="write key"'


class SegmentApi(APIView):
    """Reads the body itself (its size, gzip, JSON), then the write key, the limit, and the one ingest service."""

    # The write key is the only credential: no session (so no CSRF), no API key, no DRF throttle.
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    parser_classes: list[Any] = []
    # Read by trackerui.foundation.api_errors, which checks the Content-Length before anything else.
    max_body_bytes = MAX_BODY_BYTES
    # Ingestion has its own idempotency: a call's messageId (trackerui/accounts/idempotency.py).
    takes_idempotency_keys = False
    one_call = False

    def get_authenticate_header(self, request: Request) -> str:
        # Makes DRF answer a missing or bad key 401 (with this challenge), not 403.
        return BASIC_REALM

    def post(self, request: Request) -> Response:
        received_at = timezone.now()
        body = _decoded(body_read(request._request, MAX_BODY_BYTES), request.headers.get("Content-Encoding", ""))
        try:
            calls = calls_read(json_document_parse(body), one_call=self.one_call)
        except NotCalls as error:
            raise exceptions.ParseError(str(error)) from None
        write_key = _write_key(request, calls.write_key)
        _rate_limit_count(request, write_key)
        events, ignored = track_events(calls, app_platform=write_key.app.platform, received_at=received_at)
        if events:
            events_ingest(app=write_key.app, events=events)
        if ignored:
            calls_ignored_count(ignored)
        return Response({"success": True})


@extend_schema(exclude=True)
class TrackApi(SegmentApi):
    one_call = True


@extend_schema(exclude=True)
class BatchApi(SegmentApi):
    one_call = False


def _decoded(body: bytes, content_encoding: str) -> bytes:
    """The body, gunzipped when it says so (RudderStack's SDK gzips by default), at most MAX_BODY_BYTES."""
    if content_encoding.strip().lower() not in ("gzip", "x-gzip"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error:
        raise exceptions.ParseError("The body says Content-Encoding: gzip, but it is not gzip.") from None
    if len(inflated) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    return inflated


def _write_key(request: Request, from_body: str | None) -> WriteKey:
    """The live write key of HTTP Basic's user name, else of the body's `writeKey`; 401 without one."""
    raw_key = _basic_user(request.headers.get("Authorization", "")) or from_body
    if not raw_key:
        raise exceptions.NotAuthenticated("Send the app's write key: HTTP Basic with the key as the user name, "
                                          "or writeKey in the body.")
    write_key = write_key_for_raw(raw_key)
    if write_key is None:
        raise exceptions.AuthenticationFailed("Invalid or revoked write key.")
    return write_key


def _basic_user(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0].strip() or None


def _rate_limit_count(request: Request, write_key: WriteKey) -> None:
    """Count the request on the one rate-limit counter, per write key, at the ingestion rate; 429 over it."""
    rate = Rate.parse(api_settings.DEFAULT_THROTTLE_RATES[THROTTLE_SCOPE])
    hit = rate_limit_hit(f"segment:{write_key.prefix}", rate)
    rate_limit_note(request._request, policy=THROTTLE_SCOPE, rate=rate, hit=hit)
    if not hit.allowed:
        raise exceptions.Throttled(wait=hit.retry_after)
