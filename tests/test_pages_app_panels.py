"""The delivery panels of an app's pages (the overview's history chart and table and rejected events, the
Deliveries tab's recover form) and the apps list's health badges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from delivery.health import app_health
from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from delivery.outbox.recovery import delivery_retry
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, EventPayloadFactory, MappingFactory
from tests.page_helpers import field_block, field_errors, history_row, page_text
from trackerui.accounts.models import Organization

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 15, tzinfo=UTC)


def make(app: App, status: str, when: datetime, count: int = 1) -> None:
    for _ in range(count):
        DeliveryFactory(event__app=app, status=status, created_at=when)


@time_machine.travel(NOW, tick=False)
def test_the_history_table_counts_each_days_deliveries_by_what_became_of_them(signed_in_client: Client,
                                                                               app: App) -> None:
    today, yesterday = NOW, NOW - timedelta(days=1)
    make(app, Status.DELIVERED, today, 3)
    make(app, Status.FAILED, today, 1)
    make(app, Status.SUPPRESSED, today, 2)
    make(app, Status.PENDING, today, 1)
    make(app, Status.RETRYING, today, 1)
    make(app, Status.BLOCKED, yesterday, 1)
    make(app, Status.DELIVERED, yesterday, 1)
    # Outside the 14 days, and another app's: neither counts.
    make(app, Status.DELIVERED, NOW - timedelta(days=20), 5)
    make(AppFactory(organization=app.organization), Status.FAILED, today, 4)

    html = page_text(signed_in_client, f"/apps/{app.pk}/")

    # Day, received, delivered, failed, suppressed, blocked, pending, success rate.
    assert history_row(html, "2025-03-10") == ["Mon 10 Mar 2025", "8", "3", "1", "2", "0", "2", "75 %"]
    assert history_row(html, "2025-03-09") == ["Sun 9 Mar 2025", "2", "1", "0", "0", "1", "0", "100 %"]
    assert history_row(html, "2025-03-08") == ["Sat 8 Mar 2025", "0", "0", "0", "0", "0", "0", "–"]
    assert history_row(html, "total") == ["Total", "10", "4", "1", "2", "1", "2", "80 %"]
    # Fourteen days, today included: 25 February to 10 March.
    assert 'data-day="2025-02-25"' in html and 'data-day="2025-02-24"' not in html


@time_machine.travel(NOW, tick=False)
def test_the_history_chart_is_inline_svg_with_one_bar_per_day_stacked_by_outcome(signed_in_client: Client,
                                                                                 app: App) -> None:
    make(app, Status.DELIVERED, NOW, 6)
    make(app, Status.FAILED, NOW, 2)

    html = page_text(signed_in_client, f"/apps/{app.pk}/")

    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count('<g class="bar">') == 14
    assert 'data-series="delivered" data-count="6"' in chart
    assert 'data-series="failed" data-count="2"' in chart
    assert "Mon 10 Mar: 8 received (6 delivered, 2 failed)" in chart
    delivered = re.search(r'height="([\d.]+)" fill="[^"]+" data-series="delivered"', chart)
    failed = re.search(r'height="([\d.]+)" fill="[^"]+" data-series="failed"', chart)
    assert float(delivered.group(1)) == 3 * float(failed.group(1))
    # The axis is labelled in round numbers up to at least the tallest day.
    assert re.findall(r'text-anchor="end" font-size="11" fill="#667085">(\d+)</text>', chart) == [
        "0", "2", "4", "6", "8"
    ]


def test_the_deliveries_tab_lists_the_recent_deliveries_newest_first_linking_to_each(signed_in_client: Client,
                                                                                    app: App) -> None:
    start = datetime(2025, 3, 10, tzinfo=UTC)
    deliveries = [DeliveryFactory(event__app=app, created_at=start + timedelta(minutes=n)) for n in range(11)]

    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")

    linked = [int(n) for n in re.findall(r'<td data-label="Created"><a href="/deliveries/(\d+)/"', html)]
    assert linked == [delivery.pk for delivery in reversed(deliveries)]
    assert f'href="/apps/{app.pk}/deliveries/"' in page_text(signed_in_client, f"/apps/{app.pk}/")


def test_an_app_without_deliveries_says_so_and_shows_no_table_of_zeros(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/")
    assert "No deliveries in these days yet." in html
    assert 'class="table compact history-days"' not in html
    assert "No deliveries yet" in page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")


def test_the_per_day_table_is_behind_a_closed_details(signed_in_client: Client, app: App) -> None:
    make(app, Status.DELIVERED, datetime.now(tz=UTC), 1)
    html = page_text(signed_in_client, f"/apps/{app.pk}/")
    details = html[html.index('<details class="history-table"'):]
    assert details.startswith('<details class="history-table">')
    assert 'class="table compact history-days"' in details[:details.index("</details>")]


@time_machine.travel(NOW, tick=False)
def test_recover_sends_again_the_failed_deliveries_since_the_time_given_and_says_how_many(
    signed_in_client: Client, app: App
) -> None:
    make(app, Status.FAILED, NOW - timedelta(hours=2), 2)
    make(app, Status.FAILED, NOW - timedelta(days=3), 1)
    make(app, Status.DELIVERED, NOW - timedelta(hours=1), 1)

    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "2025-03-10T00:00Z"}, follow=True)

    # Back to the Deliveries tab, where the form is, with no anchor below the fold: the message
    # is at the top of the page.
    assert response.redirect_chain == [(f"/apps/{app.pk}/deliveries/", 302)]
    html = response.content.decode()
    message = "Queued 2 failed deliveries since 2025-03-10 00:00 UTC to be sent again."
    assert html.index(message) < html.index('id="recover"')
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    assert counts == {Status.PENDING: 2, Status.FAILED: 1, Status.DELIVERED: 1}


@time_machine.travel(NOW, tick=False)
def test_recover_with_nothing_failed_says_nothing_was_sent(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "2025-03-10T00:00Z"}, follow=True)
    assert "No failed deliveries since 2025-03-10 00:00 UTC: nothing to send again." in response.content.decode()


def test_recover_with_a_bad_time_keeps_what_was_typed_says_what_to_type_and_sends_nothing(
    signed_in_client: Client, app: App
) -> None:
    failed = DeliveryFactory(event__app=app, status=Status.FAILED)
    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "last tuesday"}, follow=True)
    assert response.redirect_chain == [(f"/apps/{app.pk}/deliveries/", 302)]
    html = response.content.decode()
    assert "Enter a date and time like 2025-03-01T00:00Z" in field_errors(html, "recover-since")
    assert 'value="last tuesday"' in field_block(html, "recover-since")
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_recover_with_a_time_out_of_range_shows_the_error_next_to_the_field(signed_in_client: Client,
                                                                           app: App) -> None:
    failed = DeliveryFactory(event__app=app, status=Status.FAILED)
    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "0001-01-01T00:00+05:00"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.search(r'<ul class="errorlist" id="since-errors">(.*?)</ul>', html, re.S)
    assert errors is not None
    assert "Out of range: enter a time between 1970-01-01 and 9999-01-01 (UTC)." in errors.group(1)
    assert 'value="0001-01-01T00:00+05:00"' in html
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_the_refused_recover_time_is_shown_once_then_the_default_is_offered_again(signed_in_client: Client,
                                                                                  app: App) -> None:
    signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "last tuesday"})
    assert "since-errors" in page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    assert "since-errors" not in page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")


@time_machine.travel(NOW, tick=False)
def test_the_recover_form_offers_the_last_24_hours(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    assert 'name="since" id="recover-since" value="2025-03-09T15:00Z"' in html


@time_machine.travel(NOW, tick=False)
def test_the_health_badge_counts_the_last_24_hours_and_names_each_problem(organization: Organization) -> None:
    healthy = AppFactory(organization=organization, s2s_confirmed=True)
    MappingFactory(app=healthy)
    make(healthy, Status.DELIVERED, NOW - timedelta(hours=1), 3)
    make(healthy, Status.FAILED, NOW - timedelta(hours=30), 2)  # Older than 24 h: not counted.
    DeliveryFactory(event__app=healthy, status=Status.DELIVERED, created_at=NOW - timedelta(hours=2),
                    last_attempt_at=NOW - timedelta(minutes=90))
    troubled = AppFactory(organization=organization, delivery_enabled=False)
    MappingFactory(app=troubled, active=False)
    make(troubled, Status.DELIVERED, NOW - timedelta(hours=3), 1)
    make(troubled, Status.FAILED, NOW - timedelta(hours=3), 3)
    make(troubled, Status.PENDING, NOW - timedelta(hours=40), 2)
    make(troubled, Status.RETRYING, NOW - timedelta(hours=1), 1)
    idle = AppFactory(organization=organization, s2s_confirmed=True)
    MappingFactory(app=idle)

    health = app_health([healthy, troubled, idle])

    assert (health[healthy.pk].delivered_24h, health[healthy.pk].failed_24h) == (4, 0)
    assert health[healthy.pk].success_rate == 1.0
    assert health[healthy.pk].last_delivered_at == NOW - timedelta(minutes=90)
    assert health[healthy.pk].problems == []
    assert health[healthy.pk].level == "ok"
    assert health[troubled.pk].success_rate == 0.25
    assert health[troubled.pk].waiting == 3
    assert [(problem.code, problem.severity) for problem in health[troubled.pk].problems] == [
        ("failed", "error"), ("waiting", "warning"), ("paused", "warning"), ("no-mappings", "warning"),
        ("s2s", "info"),
    ]
    assert "3 failed in the last 24 h" in health[troubled.pk].problems[0].message
    assert health[troubled.pk].level == "error"
    assert health[idle.pk].success_rate is None and health[idle.pk].last_delivered_at is None
    assert health[idle.pk].level == "idle"


def test_the_health_read_takes_the_same_few_queries_for_one_app_or_many(
    organization: Organization, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    apps = [AppFactory(organization=organization) for _ in range(8)]
    for app in apps:
        MappingFactory(app=app)
        make(app, Status.DELIVERED, datetime.now(tz=UTC), 2)
        make(app, Status.FAILED, datetime.now(tz=UTC), 1)

    with django_assert_max_num_queries(8):
        app_health(apps[:1])
    with django_assert_max_num_queries(8):
        health = app_health(apps)
    assert all((h.delivered_24h, h.failed_24h) == (2, 1) for h in health.values())


def test_the_apps_list_page_costs_the_same_queries_for_two_apps_or_eight(signed_in_client: Client,
                                                                          organization: Organization) -> None:
    def queries_for_apps_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_text(signed_in_client, "/apps/")
        return len(captured)

    for _ in range(2):
        make(AppFactory(organization=organization), Status.DELIVERED, datetime.now(tz=UTC), 1)
    with_two = queries_for_apps_list()
    for _ in range(6):
        make(AppFactory(organization=organization), Status.FAILED, datetime.now(tz=UTC), 1)
    assert queries_for_apps_list() == with_two


@time_machine.travel(NOW, tick=False)
def test_the_apps_list_shows_each_apps_health_badge(signed_in_client: Client, organization: Organization) -> None:
    app = AppFactory(organization=organization, name="Puzzle Quest", s2s_confirmed=True)
    MappingFactory(app=app)
    make(app, Status.DELIVERED, NOW - timedelta(hours=1), 9)
    make(app, Status.FAILED, NOW - timedelta(hours=1), 1)
    DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=NOW - timedelta(hours=1),
                    last_attempt_at=NOW - timedelta(hours=2))
    AppFactory(organization=organization, name="New Game")

    html = page_text(signed_in_client, "/apps/")

    row = html[html.index("Puzzle Quest"):html.index("</tr>", html.index("Puzzle Quest"))]
    assert "90.9 % delivered" in row
    assert "10 delivered of 11 attempted in 24 h" in row
    # In UTC, marked for static/js/time.js to show as "2 h ago" and keep true.
    assert ('last delivery <time datetime="2025-03-10T13:00:00Z" title="2025-03-10 13:00:00 UTC" data-relative>'
            "2025-03-10 13:00 UTC</time>") in row
    assert "1 failed in the last 24 h" in row
    # One failure in eleven is worth a look (amber), not an alarm (red, below 90 %).
    assert 'data-health="warning"' in row
    new = html[html.index("New Game"):html.index("</tr>", html.index("New Game"))]
    assert "no deliveries yet" in new
    assert "No active mappings: nothing is sent to Chartboost" in new
    # S2S has its own column and is listed with the problems; its long explanation is the overview's.
    assert "not confirmed" in new and "until its support switches the app from SDK to S2S" not in html


@time_machine.travel(NOW, tick=False)
def test_a_full_success_rate_is_green_whether_or_not_s2s_is_confirmed(organization: Organization) -> None:
    apps = [AppFactory(organization=organization, s2s_confirmed=confirmed) for confirmed in (True, False)]
    for app in apps:
        MappingFactory(app=app)
        make(app, Status.DELIVERED, NOW - timedelta(hours=1), 5)

    health = app_health(apps)

    assert [health[app.pk].level for app in apps] == ["ok", "ok"]


@time_machine.travel(NOW + timedelta(minutes=30), tick=False)
def test_the_health_window_starts_at_the_top_of_the_hour_24_hours_ago(app: App) -> None:
    make(app, Status.DELIVERED, NOW - timedelta(hours=24) + timedelta(minutes=10), 2)  # 15:10 yesterday: counted.
    make(app, Status.FAILED, NOW - timedelta(hours=24) - timedelta(minutes=1), 1)  # 14:59 yesterday: not.

    health = app_health([app])[app.pk]

    assert (health.delivered_24h, health.failed_24h) == (2, 0)


def test_waiting_counts_a_weeks_old_failed_delivery_sent_again(app: App) -> None:
    old = DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime.now(tz=UTC) - timedelta(days=21))
    make(app, Status.DELIVERED, datetime.now(tz=UTC) - timedelta(days=21), 3)
    assert app_health([app])[app.pk].waiting == 0

    delivery_retry(delivery=old)

    health = app_health([app])[app.pk]
    assert health.waiting == 1
    assert any("1 waiting to be sent" in problem.message for problem in health.problems)


def test_the_health_read_never_touches_the_deliveries_table(organization: Organization) -> None:
    apps = [AppFactory(organization=organization) for _ in range(3)]
    for app in apps:
        make(app, Status.DELIVERED, datetime.now(tz=UTC), 2)

    with CaptureQueriesContext(connection) as captured:
        app_health(apps)

    assert not any(f'"{Delivery._meta.db_table}"' in query["sql"] for query in captured.captured_queries)


def _queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        page_text(client, path)
    return len(captured)


def test_the_apps_list_costs_the_same_queries_for_3_deliveries_or_30(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app)
    now = datetime.now(tz=UTC)
    for days_ago in range(3):
        make(app, Status.DELIVERED, now - timedelta(days=days_ago, minutes=1))
    with_3 = _queries_for(signed_in_client, "/apps/")
    for days_ago in range(27):
        make(app, (Status.FAILED, Status.PENDING, Status.RETRYING)[days_ago % 3], now - timedelta(days=days_ago))

    assert _queries_for(signed_in_client, "/apps/") == with_3


def test_the_app_page_costs_the_same_queries_for_3_deliveries_or_30(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app)
    now = datetime.now(tz=UTC)
    for days_ago in range(3):
        make(app, Status.DELIVERED, now - timedelta(days=days_ago, minutes=1))
    # One failure in the last 24 h: the overview reads why (one query, however many failed).
    make(app, Status.FAILED, now - timedelta(minutes=2))
    with_3 = _queries_for(signed_in_client, f"/apps/{app.pk}/")
    for days_ago in range(27):
        make(app, (Status.FAILED, Status.SUPPRESSED, Status.RETRYING)[days_ago % 3],
             now - timedelta(days=days_ago % 14, hours=days_ago))

    assert _queries_for(signed_in_client, f"/apps/{app.pk}/") == with_3


@time_machine.travel(NOW, tick=False)
def test_the_app_page_lists_rejected_events_per_reason_with_a_masked_example(signed_in_client: Client,
                                                                             app: App) -> None:
    ifa = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        events_ingest(app=app, events=[EventPayloadFactory(timestamp=None)])
    events_ingest(app=app, events=[EventPayloadFactory(timestamp=None, event_id="late", identifiers={"ifa": ifa})])

    html = page_text(signed_in_client, f"/apps/{app.pk}/")

    panel = html[html.index('id="rejections"'):]
    panel = panel[:panel.index("</section>")]
    row = panel[panel.index('data-reason="timestamp"'):]
    # Last 24 h, then last 7 days.
    assert re.findall(r'<td class="num"[^>]*>(\d+)</td>', row[:row.index("</tr>")]) == ["1", "2"]
    assert "…DFC6" in panel and ifa not in panel
    assert "late" in panel


def test_the_app_page_shows_no_rejections_panel_when_nothing_was_rejected(signed_in_client: Client, app: App) -> None:
    assert 'id="rejections"' not in page_text(signed_in_client, f"/apps/{app.pk}/")


def test_the_overview_says_why_most_deliveries_failed_with_the_fix_linked(signed_in_client: Client, app: App) -> None:
    refused = "Chartboost answered status 401 “Invalid signature”: check the app token"
    for reason in (refused, refused, "gave up after 9 attempts"):
        DeliveryFactory(event__app=app, status=Delivery.Status.FAILED, reason=reason)
    html = page_text(signed_in_client, f"/apps/{app.pk}/")
    why = html[html.index("data-failed-reason"):]
    why = why[:why.index("</p>")]
    assert "Chartboost answered status 401" in why
    assert f'<a href="/apps/{app.pk}/edit/#id_chartboost_app_token">check the app token</a>' in why
    assert f'href="/apps/{app.pk}/deliveries/?status=failed"' in why


def test_with_no_failure_the_overview_names_no_reason(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, status=Delivery.Status.DELIVERED)
    assert "data-failed-reason" not in page_text(signed_in_client, f"/apps/{app.pk}/")
