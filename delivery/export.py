"""The deliveries CSV export (`/apps/{id}/deliveries/export.csv`): every row the list's filters match.

Rows are streamed as they are read, in keyset-ordered chunks (`selectors.delivery_records_in_chunks`),
so memory stays flat however many rows match: the response never holds more than one chunk.
The header is fixed. A cell whose first character other than a space is `=`, `+`, `-` or `@`
(or their full-width forms), or that starts with a tab or a carriage return, is prefixed with
`'`, so a spreadsheet shows it as text instead of running it as a formula (a tracked event's
id or name, and Chartboost's message, come from outside).

The view is a DRF view, though its path is a page's: it answers a signed-in user (session)
or an API key (`Authorization: Bearer`, full scope), throttled like the API, and a filter
with an error is a 400 naming it, as in the API's list.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from delivery.filters import DeliveryFilterSet
from delivery.models import Delivery
from delivery.selectors import DeliveryRecord, deliveries_for_app, delivery_records_in_chunks
from mappings.api import APP_ID_PARAMETER
from mappings.selectors import app_get_for_request
from trackerui.foundation.api_schema import ApiAutoSchema

CSV_HEADER = (
    "created", "event_id", "event_name", "event_field", "status", "attempts", "last_attempt_at",
    "chartboost_status", "chartboost_message", "reason", "device",
)
EXPORT_CHUNK_SIZE = 1000
# Spreadsheets skip leading spaces before a formula sign, and some read the full-width signs
# (as typed with an East Asian input method) as the ASCII ones.
FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A tab or carriage return first also makes some spreadsheets read what follows as a formula,
# and Chartboost's message and our reason are free text.
FORMULA_STARTS = ("\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """`cell`, prefixed with `'` when a spreadsheet would read it as a formula."""
    if cell.startswith(FORMULA_STARTS) or cell.lstrip(" ").startswith(FORMULA_SIGNS):
        return f"'{cell}"
    return cell


def _time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def delivery_csv_row(record: DeliveryRecord) -> list[str]:
    """One delivery as the export's cells, in `CSV_HEADER`'s order."""
    cells = [
        _time(record.created_at),
        record.event_id,
        record.event_name,
        _text(record.event_field),
        record.status,
        _text(record.attempt_count),
        _time(record.last_attempt_at),
        _text(record.last_response_status),
        _text(record.last_response_message),
        record.reason,
        record.device,
    ]
    return [spreadsheet_safe(cell) for cell in cells]


class _Lines:
    """A file-like target for csv.writer that hands each written line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def deliveries_csv(deliveries: QuerySet[Delivery], *, chunk_size: int = EXPORT_CHUNK_SIZE) -> Iterator[str]:
    """The header line, then the rows of `deliveries`, newest first: one string per chunk read."""
    writer = csv.writer(_Lines())
    yield writer.writerow(CSV_HEADER)
    for chunk in delivery_records_in_chunks(deliveries, chunk_size=chunk_size):
        yield "".join(writer.writerow(delivery_csv_row(record)) for record in chunk)


class ExportSchema(ApiAutoSchema):
    """Documents the list's filters on the export too: drf-spectacular only offers a view's filters when it
    answers a list, and this one answers CSV."""

    def get_filter_backends(self) -> list[Any]:
        return getattr(self.view, "filter_backends", [])


class CsvBody(BaseContentNegotiation):
    """The answer is CSV whatever the client's Accept says, and an error is JSON (the first renderer)."""

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser | None:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


@extend_schema(tags=["deliveries"], parameters=[APP_ID_PARAMETER])
class AppDeliveriesExportView(GenericAPIView):
    # The model, for django-filter and the schema; `get` reads only the app's own deliveries.
    queryset = Delivery.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilterSet
    pagination_class = None
    content_negotiation_class = CsvBody
    schema = ExportSchema()
    chunk_size = EXPORT_CHUNK_SIZE

    @extend_schema(
        operation_id="deliveries_export",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The header row, then one row "
                                                      "per delivery, newest first.")},
        description="Every delivery of the app that the filters match, as CSV, streamed: a fixed header row "
        "(`" + ",".join(CSV_HEADER) + "`), then one row per delivery, newest first. Takes the deliveries "
        "list's filters. A cell starting with `=`, `+`, `-` or `@` is prefixed with `'`.",
    )
    def get(self, request: Request, app_id: int) -> StreamingHttpResponse:
        app = app_get_for_request(request, app_id)
        deliveries = self.filter_queryset(deliveries_for_app(app))
        response = StreamingHttpResponse(deliveries_csv(deliveries, chunk_size=self.chunk_size),
                                         content_type="text/csv; charset=utf-8")
        stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%MZ")
        response["Content-Disposition"] = f'attachment; filename="deliveries-app-{app.pk}-{stamp}.csv"'
        return response

    def handle_exception(self, exc: Exception) -> HttpResponse:
        # A browser that is not signed in is sent to sign in, like on every page; a client that
        # sent an API key (right or wrong) gets the API's 401.
        if isinstance(exc, exceptions.NotAuthenticated) and "HTTP_AUTHORIZATION" not in self.request.META:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
