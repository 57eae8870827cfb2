"""The deliveries CSV export (delivery/export.py): /apps/{id}/deliveries/export.csv."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from delivery.export import CSV_HEADER, deliveries_csv, spreadsheet_safe
from delivery.models import Delivery
from delivery.selectors import deliveries_for_app
from mappings.models import App
from tests.factories import AttemptFactory, DeliveryFactory
from trackerui.accounts.authentication import INGEST_SCOPE_MESSAGE

Status = Delivery.Status
MARCH_10 = datetime(2025, 3, 10, 12, tzinfo=UTC)
HEADER = ["created", "event_id", "event_name", "event_field", "status", "attempts", "last_attempt_at",
          "chartboost_status", "chartboost_message", "reason", "device"]


def export_url(app: App) -> str:
    return f"/apps/{app.pk}/deliveries/export.csv"


def csv_rows(response: StreamingHttpResponse) -> list[dict[str, str]]:
    """The export's rows as dictionaries, after checking that it streamed a CSV with the fixed header."""
    assert response.status_code == 200, response.content
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="deliveries-app-')
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == HEADER
    return [dict(zip(HEADER, line, strict=True)) for line in lines[1:]]


def test_the_header_is_fixed_and_each_column_holds_what_it_names(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(
        event__app=app, event__event_id="evt-42", event__name="boss_defeated", event_field=3,
        status=Status.FAILED, attempt_count=2, created_at=MARCH_10,
        last_attempt_at=MARCH_10 + timedelta(seconds=3), reason="Chartboost answered status 401: check the app token",
    )
    AttemptFactory(delivery=delivery, number=1, response_status=None, response_message="")
    AttemptFactory(delivery=delivery, number=2, response_status=401, response_message="Invalid signature")

    (row,) = csv_rows(signed_in_client.get(export_url(app)))

    assert CSV_HEADER == tuple(HEADER)
    assert row == {
        "created": "2025-03-10T12:00:00Z", "event_id": "evt-42", "event_name": "boss_defeated", "event_field": "3",
        "status": "failed", "attempts": "2", "last_attempt_at": "2025-03-10T12:00:03Z", "chartboost_status": "401",
        "chartboost_message": "Invalid signature", "reason": "Chartboost answered status 401: check the app token",
        "device": delivery.device,
    }


def test_a_delivery_never_sent_has_empty_answer_cells(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, status=Status.SUPPRESSED,
                    reason="Not sent: level 5 is not above level 7, already sent for this device")

    (row,) = csv_rows(signed_in_client.get(export_url(app)))

    assert (row["attempts"], row["last_attempt_at"], row["chartboost_status"], row["chartboost_message"]) == (
        "0", "", "", ""
    )


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+2", "-3+4", "@SUM(A1)"])
def test_a_cell_that_a_spreadsheet_would_run_is_prefixed_with_a_quote(
    signed_in_client: Client, app: App, cell: str
) -> None:
    DeliveryFactory(event__app=app, event__event_id=cell, event__name=cell, status=Status.FAILED, reason=cell)

    (row,) = csv_rows(signed_in_client.get(export_url(app)))

    assert row["event_id"] == row["event_name"] == row["reason"] == f"'{cell}"


def test_only_a_cell_starting_with_a_formula_sign_is_changed() -> None:
    assert spreadsheet_safe("level=7") == "level=7"
    assert spreadsheet_safe("evt-1") == "evt-1"
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe("=1") == "'=1"
    assert spreadsheet_safe("\t=1") == "'\t=1"
    assert spreadsheet_safe("\r=1") == "'\r=1"


@pytest.mark.parametrize("cell", [" =1+2", "   @SUM(A1)", "\uff1dHYPERLINK(\"http://x\")", "\uff0b1", "\uff0d1",
                                  "\uff20SUM(A1)", " \uff1d1"])
def test_a_formula_behind_spaces_or_in_full_width_signs_is_prefixed_with_a_quote(
    signed_in_client: Client, app: App, cell: str
) -> None:
    assert spreadsheet_safe(cell) == f"'{cell}"
    DeliveryFactory(event__app=app, status=Status.FAILED, reason=cell)

    (row,) = csv_rows(signed_in_client.get(export_url(app)))

    assert row["reason"] == f"'{cell}"


def test_spaces_before_plain_text_change_nothing() -> None:
    assert spreadsheet_safe("  level 7") == "  level 7"
    assert spreadsheet_safe(" a=1") == " a=1"


def test_it_takes_the_lists_filters(signed_in_client: Client, app: App) -> None:
    wanted = DeliveryFactory(event__app=app, status=Status.FAILED, event_field=2, created_at=MARCH_10,
                             event__device="b1c99c76f014428590cf3a5c99d9dfc6")
    DeliveryFactory(event__app=app, status=Status.DELIVERED, event_field=2, created_at=MARCH_10)
    DeliveryFactory(event__app=app, status=Status.FAILED, event_field=1, created_at=MARCH_10)
    DeliveryFactory(event__app=app, status=Status.FAILED, event_field=2, created_at=MARCH_10 - timedelta(days=2))
    query = {"status": "failed", "event_field": "2", "since": "2025-03-09T00:00Z", "until": "2025-03-11T00:00Z",
             "device": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6", "event_id": wanted.event.event_id}

    rows = csv_rows(signed_in_client.get(export_url(app), query))

    assert [row["event_id"] for row in rows] == [wanted.event.event_id]


def test_it_has_every_row_newest_first_not_a_page(signed_in_client: Client, app: App) -> None:
    deliveries = [DeliveryFactory(event__app=app, created_at=MARCH_10 + timedelta(minutes=n)) for n in range(55)]

    rows = csv_rows(signed_in_client.get(export_url(app)))

    assert [row["event_id"] for row in rows] == [d.event.event_id for d in reversed(deliveries)]


@pytest.mark.parametrize("query", [{"until": "2025-03-01T00:00Z", "since": "2025-03-02T00:00Z"},
                                   {"status": "lost"}, {"event_field": "9"}])
def test_a_bad_filter_is_a_400_naming_it(api: APIClient, app: App, query: dict[str, str]) -> None:
    response = api.get(export_url(app), query)

    assert response.status_code == 400
    assert list(response.json()) == [next(name for name in ("until", "status", "event_field") if name in query)]


@pytest.mark.parametrize("chunk_size", [1, 3, 7])
def test_it_reads_in_keyset_chunks_with_one_query_per_chunk(app: App, chunk_size: int) -> None:
    # Several deliveries share one creation time, so the keyset must break ties by id.
    deliveries = [DeliveryFactory(event__app=app, created_at=MARCH_10 + timedelta(minutes=n // 3)) for n in range(10)]
    AttemptFactory(delivery=deliveries[0], number=1)

    with CaptureQueriesContext(connection) as queries:
        lines = list(deliveries_csv(deliveries_for_app(app), chunk_size=chunk_size))

    rows = list(csv.reader(io.StringIO("".join(lines))))[1:]
    assert sorted(row[1] for row in rows) == sorted(d.event.event_id for d in deliveries)
    assert len(rows) == len({row[1] for row in rows}) == 10
    # One query per chunk, plus one that finds the last chunk was full and nothing follows it.
    chunks = -(-10 // chunk_size)
    assert len(queries) == chunks + (10 % chunk_size == 0)
    assert len(lines) == 1 + chunks


def test_rows_pruned_while_it_streams_never_make_it_skip_the_rest(app: App) -> None:
    # Each chunk starts after the last row written, not at a count of rows: rows deleted
    # behind it (pruning runs meanwhile) cannot shift the next chunk past rows never written.
    deliveries = [DeliveryFactory(event__app=app, created_at=MARCH_10 + timedelta(minutes=n)) for n in range(9)]
    stream = deliveries_csv(deliveries_for_app(app), chunk_size=3)
    lines = [next(stream), next(stream)]
    written = [row[1] for row in csv.reader(io.StringIO(lines[1]))]
    Delivery.objects.filter(event__event_id__in=written).delete()
    lines += list(stream)

    rows = list(csv.reader(io.StringIO("".join(lines))))[1:]
    assert [row[1] for row in rows] == [d.event.event_id for d in reversed(deliveries)]


def test_an_api_key_may_export(api: APIClient, app: App) -> None:
    DeliveryFactory(event__app=app)
    assert len(csv_rows(api.get(export_url(app)))) == 1


def test_a_member_may_export(plain_member_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)
    assert len(csv_rows(plain_member_client.get(export_url(app)))) == 1


def test_an_ingest_key_gets_a_403(ingest_api: APIClient, app: App) -> None:
    response = ingest_api.get(export_url(app))
    assert response.status_code == 403
    assert response.json() == {"detail": INGEST_SCOPE_MESSAGE}


def test_another_organizations_app_is_a_404(api: APIClient, signed_in_client: Client, other_app: App) -> None:
    DeliveryFactory(event__app=other_app)
    assert api.get(export_url(other_app)).status_code == 404
    assert signed_in_client.get(export_url(other_app)).status_code == 404


def test_a_visitor_is_sent_to_sign_in_and_a_wrong_key_gets_a_401(client: Client, app: App) -> None:
    response = client.get(export_url(app))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    wrong = client.get(export_url(app), HTTP_AUTHORIZATION="Bearer cbt_00000000_wrong")
    assert wrong.status_code == 401


def test_the_answer_is_csv_whatever_the_client_accepts(api: APIClient, app: App) -> None:
    DeliveryFactory(event__app=app)
    assert len(csv_rows(api.get(export_url(app), HTTP_ACCEPT="text/csv"))) == 1
