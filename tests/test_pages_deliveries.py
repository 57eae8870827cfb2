"""The deliveries list (/apps/{id}/deliveries/) and one delivery (/deliveries/{id}/)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from mappings.models import App
from tests.factories import AppFactory, AttemptFactory, DeliveryFactory, EventPayloadFactory, MappingFactory
from tests.page_helpers import field_block, field_errors, page_text, unescape

Status = Delivery.Status
MARCH_10 = datetime(2025, 3, 10, 12, tzinfo=UTC)


def delivery_ids(html: str) -> list[int]:
    """The deliveries listed, in page order, read from their links to the detail page."""
    return [int(number) for number in re.findall(r'<td data-label="Created"><a href="/deliveries/(\d+)/"', html)]


@pytest.fixture
def other_app(db: None) -> App:
    return AppFactory()


def test_the_list_shows_the_apps_deliveries_newest_first_with_every_column(signed_in_client: Client, app: App) -> None:
    older = DeliveryFactory(event__app=app, event__event_id="evt-older", created_at=MARCH_10, status=Status.DELIVERED,
                            attempt_count=1)
    newer = DeliveryFactory(
        event__app=app, event__event_id="evt-newer", event__name="boss_defeated", event_field=3,
        created_at=MARCH_10 + timedelta(minutes=5), status=Status.RETRYING, attempt_count=2,
        reason="Chartboost answered HTTP 500; next attempt in 4 s",
        next_attempt_at=MARCH_10 + timedelta(minutes=5, seconds=4),
    )
    DeliveryFactory(event__event_id="evt-of-another-app")

    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")

    assert delivery_ids(html) == [newer.pk, older.pk]
    row = html[html.index(f'href="/deliveries/{newer.pk}/"'):]
    row = row[:row.index("</tr>")]
    for shown in ("2025-03-10 12:05:00", "evt-newer", "boss_defeated", '<span class="event-id">3</span>',
                  newer.device[:9], ">retrying<", "Chartboost answered HTTP 500; next attempt in 4 s",
                  '<td class="num" data-label="Attempts">2</td>', "2025-03-10 12:05:04"):
        assert shown in row, shown
    assert "evt-of-another-app" not in html


def test_the_filter_form_names_its_inputs_like_the_api(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    form = html[html.index('<form method="get"'):html.index("</form>", html.index('<form method="get"'))]
    for name in ("status", "event_field", "device", "event_id", "since", "until"):
        assert f'name="{name}"' in form, name


def test_each_filter_narrows_the_list_like_the_api(signed_in_client: Client, app: App) -> None:
    failed = DeliveryFactory(event__app=app, status=Status.FAILED, event_field=1, created_at=MARCH_10,
                             event__device="b1c99c76f014428590cf3a5c99d9dfc6", event__event_id="evt-a")
    delivered = DeliveryFactory(event__app=app, status=Status.DELIVERED, event_field=2,
                                created_at=MARCH_10 + timedelta(days=1), event__event_id="evt-b")
    url = f"/apps/{app.pk}/deliveries/"

    assert delivery_ids(page_text(signed_in_client, url + "?status=failed")) == [failed.pk]
    assert delivery_ids(page_text(signed_in_client, url + "?event_field=2")) == [delivered.pk]
    # A device pasted as received (uppercase, with dashes) finds the normalised identity.
    device = "?device=B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
    assert delivery_ids(page_text(signed_in_client, url + device)) == [failed.pk]
    assert delivery_ids(page_text(signed_in_client, url + "?event_id=evt-b")) == [delivered.pk]
    assert delivery_ids(page_text(signed_in_client, url + "?since=2025-03-11T00:00Z")) == [delivered.pk]
    assert delivery_ids(page_text(signed_in_client, url + "?until=2025-03-11T00:00Z")) == [failed.pk]
    assert delivery_ids(page_text(signed_in_client, url + "?status=failed&event_field=2")) == []


def test_bad_filter_values_show_an_error_next_to_the_filter_and_the_good_ones_still_apply(
    signed_in_client: Client, app: App
) -> None:
    failed = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=MARCH_10)
    DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=MARCH_10)

    response = signed_in_client.get(
        f"/apps/{app.pk}/deliveries/?status=failed&event_field=9&since=yesterday&until=2025-13-01"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Event ID must be 1, 2, 3, 4 or 5." in field_errors(html, "event_field")
    assert "Enter a date and time like 2025-03-01T00:00Z" in field_errors(html, "since")
    assert "Enter a date and time like 2025-03-01T00:00Z" in field_errors(html, "until")
    assert field_errors(html, "status") == ""
    assert delivery_ids(html) == [failed.pk]


@pytest.mark.parametrize("since", [
    "99999-01-01",
    "0001-01-01",
    "0001-01-01T00:00+05:00",
    "9999-12-31T23:59-05:00",
    "9999-12-31T23:59:59",
])
def test_a_time_out_of_range_is_an_error_next_to_the_filter_not_a_500(
    signed_in_client: Client, app: App, since: str
) -> None:
    DeliveryFactory(event__app=app, created_at=MARCH_10)
    response = signed_in_client.get(f"/apps/{app.pk}/deliveries/", {"since": since, "until": since})
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "since").strip() in (
        "Enter a date and time like 2025-03-01T00:00Z (ISO-8601), or 24h for 24 hours ago.",
        "Out of range: enter a time between 1970-01-01 and 9999-01-01 (UTC).",
    )
    assert field_errors(html, "until") == field_errors(html, "since")
    assert len(delivery_ids(html)) == 1


def test_an_event_id_filter_beyond_64_bits_is_an_error_next_to_the_filter(signed_in_client: Client,
                                                                         app: App) -> None:
    response = signed_in_client.get(f"/apps/{app.pk}/deliveries/", {"event_field": "9" * 40, "device": "a\x00b"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Event ID must be 1, 2, 3, 4 or 5." in field_errors(html, "event_field")
    assert field_errors(html, "device") != ""


def test_an_unknown_status_is_an_error_next_to_the_status_filter(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=lost")
    assert "Pick one of: pending, retrying, delivered, failed, suppressed, blocked." in field_errors(html, "status")
    assert len(delivery_ids(html)) == 1


def test_until_before_since_is_an_error_next_to_until(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?since=2025-03-11T00:00Z&until=2025-03-10T00:00Z")
    assert "Until must be after since." in field_errors(html, "until")


def test_your_event_id_and_chartboosts_event_id_are_named_apart(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    header = html[html.index("<thead>"):html.index("</thead>")]
    assert "<th>Your event_id</th>" in header and "<th>Chartboost Event ID</th>" in header
    assert "Event id<" not in header
    assert ">Your event_id" in field_block(html, "event_id")
    assert ">Chartboost Event ID (1–5)" in field_block(html, "event_field")
    assert "Any Chartboost Event ID" in field_block(html, "event_field")


def test_the_export_link_keeps_the_filters_that_apply(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app)
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=failed&event_field=9&device=AB-CD&page=2")
    link = re.search(r'<a class="button" href="([^"]+)" download>Export CSV</a>', html).group(1)
    # The bad event_field is not applied to the list, so it is not in the export either.
    assert unescape(link) == f"/apps/{app.pk}/deliveries/export.csv?status=failed&device=AB-CD"

    plain = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    assert f'href="/apps/{app.pk}/deliveries/export.csv" download>Export CSV</a>' in plain


def test_the_list_pages_by_fifty_and_page_links_keep_the_filters(signed_in_client: Client, app: App) -> None:
    for minute in range(51):
        DeliveryFactory(event__app=app, status=Status.FAILED, created_at=MARCH_10 + timedelta(minutes=minute))
    DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=MARCH_10 + timedelta(hours=2))

    first = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=failed")
    assert len(delivery_ids(first)) == 50
    assert "1–50 of 51" in first
    assert 'href="?status=failed&amp;page=2"' in first

    second = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=failed&page=2")
    oldest = Delivery.objects.filter(status=Status.FAILED).order_by("created_at").first()
    assert delivery_ids(second) == [oldest.pk]
    assert 'href="?status=failed&amp;page=1"' in second
    # A page number past the end shows the last page rather than an error.
    assert delivery_ids(page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=failed&page=99")) == [
        oldest.pk
    ]


def test_an_app_without_deliveries_explains_where_they_come_from(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    assert "No deliveries yet" in html
    assert f"/api/v1/apps/{app.pk}/events/" in html


def test_filters_that_match_nothing_say_so_and_offer_the_whole_list(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, status=Status.DELIVERED)
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?status=failed")
    assert "No deliveries match these filters" in html
    assert f'href="/apps/{app.pk}/deliveries/"' in html


def test_the_detail_shows_status_item_event_and_every_attempt_as_stored(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_up", event_field=1)
    delivery = DeliveryFactory(
        event__app=app, event__event_id="evt-42", event__properties={"level": 7, "world": "Lunar Caverns"},
        event__timestamp=1_741_608_000, event__sdk_version="3.2.3", mapping=mapping, status=Status.FAILED,
        reason="Chartboost answered status 401 “Invalid signature”: check the app token", attempt_count=2,
    )
    AttemptFactory(delivery=delivery, number=1, http_status=500, response_status=None, response_message="",
                   error="Chartboost answered HTTP 500", outcome="retry", latency_ms=31)
    AttemptFactory(
        delivery=delivery, number=2, http_status=200, response_status=401, response_message="Invalid signature",
        outcome="failed", latency_ms=48, endpoint="http://127.0.0.1:8765/event_service/v2/level",
        request_headers={"Content-Type": "application/json", "X-Chartboost-App": app.chartboost_app_id,
                         "X-Chartboost-Signature": "ab" * 32},
        request_body={"track_info": [delivery.item], "token": app.chartboost_app_token_hint, "party": "CB Tracker"},
    )

    html = unescape(page_text(signed_in_client, f"/deliveries/{delivery.pk}/"))

    # The fix is a link to where the token is replaced.
    assert ("Chartboost answered status 401 “Invalid signature”: "
            f'<a href="/apps/{app.pk}/edit/#id_chartboost_app_token">check the app token</a>') in html
    assert '"event_label": "level_up"' in html and '"data_type": "level_info"' in html
    assert "evt-42" in html and '"world": "Lunar Caverns"' in html
    assert "1741608000" in html and "2025-03-10 12:00:00" in html and "3.2.3" in html
    assert f'"ifa": "{delivery.event.identifiers["ifa"]}"' in html
    attempts = html[html.index('id="attempts"'):]
    assert attempts.index("Attempt 1") < attempts.index("Attempt 2")
    for shown in ("Chartboost answered HTTP 500", "31 ms", "48 ms", "Invalid signature",
                  "POST http://127.0.0.1:8765/event_service/v2/level", '"X-Chartboost-Signature": "' + "ab" * 32,
                  f'"token": "{app.chartboost_app_token_hint}"', ">retry<", ">failed<"):
        assert shown in attempts, shown
    assert app.chartboost_app_token not in html
    assert f'action="/deliveries/{delivery.pk}/retry/"' in html


def test_the_retry_button_sends_a_failed_delivery_again(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED, reason="gave up after 9 attempts")

    response = signed_in_client.post(f"/deliveries/{delivery.pk}/retry/", follow=True)

    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.reason == ""
    assert response.redirect_chain == [(f"/deliveries/{delivery.pk}/", 302)]
    html = response.content.decode()
    assert "Sent again" in html
    assert f'action="/deliveries/{delivery.pk}/retry/"' not in html


def test_only_a_failed_delivery_offers_retry_and_retrying_another_says_why_not(
    signed_in_client: Client, app: App
) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.DELIVERED)
    assert "/retry/" not in page_text(signed_in_client, f"/deliveries/{delivery.pk}/")

    response = signed_in_client.post(f"/deliveries/{delivery.pk}/retry/", follow=True)

    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert "Only a failed delivery can be retried" in response.content.decode()


def test_a_suppressed_delivery_says_it_was_not_sent_and_why(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    for level in (7, 5):
        events_ingest(app=app, events=[EventPayloadFactory(name="level_up", properties={"level": level})])
    delivery = Delivery.objects.get(status=Status.SUPPRESSED)

    html = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    assert "Not sent: level 5 is not above level 7, already sent for this device" in html
    assert "not sent: it would have gone as Event ID 1" in html
    assert "Item that would have gone in <code>track_info</code> (not sent)" in html
    assert "sent as" not in html and "Item sent" not in html


def test_a_blocked_delivery_says_it_was_not_sent(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=2, main_level_property="")
    events_ingest(app=app, events=[EventPayloadFactory(name="level_up", limit_ad_tracking=True)])
    delivery = Delivery.objects.get(status=Status.BLOCKED)

    html = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    assert "Not sent: the event carried limit_ad_tracking: true" in html
    assert "sent as" not in html and "Item sent" not in html


def test_a_delivery_that_went_out_says_it_was_sent(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.DELIVERED, attempt_count=1)
    html = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    assert f"sent as Event ID {delivery.event_field}" in html
    assert "Item sent in <code>track_info</code>" in html


@pytest.mark.parametrize("method, path", [
    ("get", "/apps/{app}/deliveries/"),
    ("get", "/deliveries/{delivery}/"),
    ("post", "/deliveries/{delivery}/retry/"),
    ("post", "/apps/{app}/recover/"),
    ("post", "/apps/{app}/test-event/"),
    ("get", "/apps/{app}/deliveries/export.csv"),
])
def test_another_organizations_app_or_delivery_is_a_404(
    signed_in_client: Client, other_app: App, method: str, path: str
) -> None:
    delivery = DeliveryFactory(event__app=other_app, status=Status.FAILED)
    response = getattr(signed_in_client, method)(
        path.format(app=other_app.pk, delivery=delivery.pk), {"since": "2025-03-01T00:00Z"} if method == "post" else {}
    )
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED


@pytest.mark.parametrize("path", ["/apps/1/deliveries/", "/deliveries/1/", "/apps/1/deliveries/export.csv",
                                  "/deliveries/"])
def test_the_delivery_pages_ask_visitors_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
