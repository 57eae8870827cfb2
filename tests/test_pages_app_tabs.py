"""An app's pages as tabs: the overview (health, circuit, open problems, chart), Mappings, Deliveries and
Settings, deleting an app, and the parts htmx asks for (the overview's live numbers, recover's answer,
a delivery's status after a retry)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from delivery.panels import STATUS_POLLS_MAX
from delivery.selectors import UNMAPPED_EVENTS_SHOWN
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory, EventNameFactory, EventPayloadFactory, MappingFactory
from tests.page_helpers import field_block, field_errors, page_text

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 15, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
# Signing in and the app (6 today), then health with its circuit (4), whether the token is unreadable,
# apps sharing the Chartboost app ID, the mapping counts, the unmapped names' count, the rejections' total,
# and why most deliveries failed (only when some did).
LIVE_PART_QUERIES = 16
TABS = {"Overview": "", "Mappings": "mappings/", "Deliveries": "deliveries/", "Live events": "live/",
        "Changes": "changes/", "Settings": "settings/"}


def tabs(html: str) -> list[tuple[str, str, bool]]:
    """The tabs shown, in order: (label, link, whether it is the current page)."""
    nav = html[html.index('<nav class="tabs"'):]
    nav = nav[:nav.index("</nav>")]
    return [(label, href, bool(current)) for href, current, label in
            re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)]


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


@pytest.mark.parametrize("current", list(TABS))
def test_every_tab_shows_the_same_tabs_with_its_own_marked_current(signed_in_client: Client, app: App,
                                                                   current: str) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/{TABS[current]}")
    assert tabs(html) == [(label, f"/apps/{app.pk}/{path}", label == current) for label, path in TABS.items()]


def test_one_delivery_shows_the_tabs_with_deliveries_current(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app)
    html = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    assert [label for label, _, current in tabs(html) if current] == ["Deliveries"]


def test_the_forms_of_a_tab_lead_back_to_it(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app)
    forms = {"mappings/new/": "mappings/", f"mappings/{mapping.pk}/edit/": "mappings/",
             f"mappings/{mapping.pk}/delete/": "mappings/", "edit/": "settings/", "delete/": "settings/"}
    for path, tab in forms.items():
        crumbs = page_text(signed_in_client, f"/apps/{app.pk}/{path}").split('<nav class="crumbs">')[1]
        assert f'href="/apps/{app.pk}/{tab}"' in crumbs.split("</nav>")[0], path


@time_machine.travel(NOW, tick=False)
def test_the_overview_shows_the_health_of_the_last_24_hours(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app)
    for status, count in ((Status.DELIVERED, 9), (Status.FAILED, 1), (Status.RETRYING, 2)):
        for _ in range(count):
            DeliveryFactory(event__app=app, status=status, created_at=NOW - timedelta(hours=1))

    health = section(page_text(signed_in_client, f"/apps/{app.pk}/"), "health")

    stats = dict(re.findall(r'data-stat="([a-z-]+)">([^<]+)<', health))
    assert stats == {"success-rate": "90 %", "rejected": "–", "delivered": "9", "failed": "1", "waiting": "2"}
    assert "circuit closed" in health


@time_machine.travel(NOW, tick=False)
def test_the_overview_lists_each_open_problem_with_a_link_to_where_it_is_fixed(signed_in_client: Client,
                                                                               app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    EventNameFactory(app=app, name="boss_defeated")
    DeliveryFactory(event__app=app, status=Status.FAILED, created_at=NOW - timedelta(hours=2))
    events_ingest(app=app, events=[EventPayloadFactory(timestamp=None)])

    html = page_text(signed_in_client, f"/apps/{app.pk}/")

    problems = dict(re.findall(r'data-problem="([a-z0-9-]+)">(.*?)</li>', section(html, "problems"), re.S))
    assert set(problems) == {"failed", "rejected", "unmapped", "s2s"}
    assert f'href="/apps/{app.pk}/deliveries/?status=failed"' in problems["failed"]
    assert f'href="/apps/{app.pk}/#rejections"' in problems["rejected"] and 'id="rejections"' in html
    assert "1 tracked event name</strong> not mapped" in problems["unmapped"]
    assert f'href="/apps/{app.pk}/mappings/#unmapped-events"' in problems["unmapped"]
    assert f'href="/apps/{app.pk}/settings/#s2s-checklist"' in problems["s2s"]
    # The S2S warning is said once, here.
    assert html.count("Chartboost ignores server-to-server events") == 1


@time_machine.travel(NOW, tick=False)
def test_the_problems_count_every_unmapped_name_every_waiting_delivery_and_every_rejection(
    signed_in_client: Client, app: App
) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    # More than the Mappings tab lists at once: the problem still counts them all.
    for number in range(UNMAPPED_EVENTS_SHOWN + 5):
        EventNameFactory(app=app, name=f"unmapped_{number}")
    DeliveryFactory(event__app=app, status=Status.PENDING, created_at=NOW - timedelta(hours=1))
    for _ in range(2):
        DeliveryFactory(event__app=app, status=Status.RETRYING, created_at=NOW - timedelta(hours=1))
    events_ingest(app=app, events=[EventPayloadFactory(timestamp=None), EventPayloadFactory(timestamp=None)])

    for html in (page_text(signed_in_client, f"/apps/{app.pk}/"),
                 signed_in_client.get(f"/apps/{app.pk}/", **HTMX).content.decode()):
        problems = dict(re.findall(r'data-problem="([a-z0-9-]+)">(.*?)</li>', section(html, "problems"), re.S))
        assert f"{UNMAPPED_EVENTS_SHOWN + 5} tracked event names</strong> not mapped" in problems["unmapped"]
        assert "2 rejected</strong> events" in problems["rejected"]
        # Waiting is pending and retrying: the link shows both, so it filters no status.
        assert "3 waiting</strong>" in problems["waiting"]
        assert f'href="/apps/{app.pk}/deliveries/"' in problems["waiting"]


@time_machine.travel(NOW, tick=False)
def test_the_overviews_live_part_reads_only_what_it_shows(
    signed_in_client: Client, app: App, django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    EventNameFactory(app=app, name="boss_defeated")
    DeliveryFactory(event__app=app, status=Status.FAILED, created_at=NOW - timedelta(hours=2))
    events_ingest(app=app, events=[EventPayloadFactory(timestamp=None)])

    with CaptureQueriesContext(connection) as full:
        page = signed_in_client.get(f"/apps/{app.pk}/").content.decode()
    with django_assert_max_num_queries(LIVE_PART_QUERIES) as live:
        html = signed_in_client.get(f"/apps/{app.pk}/", **HTMX).content.decode()

    # The 30 days' history and the rejections with their examples are the full page's alone,
    # and the live part pays for neither.
    assert 'id="history"' in page and 'id="rejections"' in page
    assert 'id="history"' not in html and 'id="rejections"' not in html
    assert len(live) < len(full)


def test_an_app_with_nothing_to_fix_says_so(signed_in_client: Client, organization: object) -> None:
    app = AppFactory(organization=organization, s2s_confirmed=True)
    MappingFactory(app=app)
    problems = section(page_text(signed_in_client, f"/apps/{app.pk}/"), "problems")
    assert 'data-problem="none"' in problems and "<li" not in problems


def test_a_new_app_is_pointed_to_its_first_mapping(signed_in_client: Client, app: App) -> None:
    problems = section(page_text(signed_in_client, f"/apps/{app.pk}/"), "problems")
    assert f'<a href="/apps/{app.pk}/mappings/new/">Add your first mapping</a>' in problems


def test_the_overview_flags_a_chartboost_app_id_shared_with_another_app(signed_in_client: Client,
                                                                        app: App) -> None:
    other = AppFactory(organization=app.organization)
    App.objects.filter(pk=other.pk).update(chartboost_app_id=app.chartboost_app_id)
    html = page_text(signed_in_client, f"/apps/{app.pk}/")
    assert 'data-problem="duplicate-app-id"' in html and 'id="duplicate-app-id"' in html


def test_the_mappings_tab_has_the_table_and_the_unmapped_events(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_complete")
    EventNameFactory(app=app, name="boss_defeated")
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/")
    assert "level_complete" in section(html, "mappings")
    assert "boss_defeated" in section(html, "unmapped-events")


def test_the_settings_tab_has_credentials_delivery_test_event_s2s_and_delete(signed_in_client: Client,
                                                                             app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/settings/")
    for element_id in ("credentials", "delivery", "test-event", "s2s-checklist", "delete-app"):
        assert f'id="{element_id}"' in html, element_id
    assert f'href="/apps/{app.pk}/edit/"' in html
    assert f'href="/apps/{app.pk}/delete/"' in html


def test_the_deliveries_tab_has_recover_above_the_list(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    assert html.index('id="recover"') < html.index('class="card filters"')


@pytest.mark.parametrize("path", ["", "mappings/", "deliveries/", "settings/", "delete/"])
def test_another_organizations_app_is_a_404_on_every_tab(signed_in_client: Client, path: str) -> None:
    other = AppFactory()
    assert signed_in_client.get(f"/apps/{other.pk}/{path}").status_code == 404
    assert signed_in_client.post(f"/apps/{other.pk}/delete/").status_code == 404
    other.refresh_from_db()
    assert other.archived_at is None


def test_an_owner_deletes_an_app_after_confirming(signed_in_client: Client, app: App) -> None:
    waiting = DeliveryFactory(event__app=app, status=Status.PENDING)
    confirm = page_text(signed_in_client, f"/apps/{app.pk}/delete/")
    assert f"Delete {app.name}?" in confirm and '<form method="post">' in confirm
    app.refresh_from_db()
    assert app.archived_at is None

    response = signed_in_client.post(f"/apps/{app.pk}/delete/", follow=True)

    assert response.redirect_chain == [("/apps/", 302)]
    html = response.content.decode()
    assert f"{app.name} is deleted" in html and "1 waiting delivery ended failed." in html
    app.refresh_from_db()
    waiting.refresh_from_db()
    assert app.archived_at is not None and app.chartboost_app_token == ""
    assert (waiting.status, waiting.reason) == (Status.FAILED, "app deleted")
    assert signed_in_client.get(f"/apps/{app.pk}/").status_code == 404


def test_a_member_is_refused_deleting_an_app_with_a_clear_403(plain_member_client: Client, app: App) -> None:
    settings_page = page_text(plain_member_client, f"/apps/{app.pk}/settings/")
    assert f'href="/apps/{app.pk}/delete/"' not in settings_page
    assert "Only an owner of" in settings_page

    for response in (plain_member_client.get(f"/apps/{app.pk}/delete/"),
                     plain_member_client.post(f"/apps/{app.pk}/delete/")):
        assert response.status_code == 403
        assert "Only an owner of" in response.content.decode() and "delete apps" in response.content.decode()
    app.refresh_from_db()
    assert app.archived_at is None


def test_the_overview_answers_htmx_with_its_live_numbers_only(signed_in_client: Client, app: App) -> None:
    full = signed_in_client.get(f"/apps/{app.pk}/")
    live = signed_in_client.get(f"/apps/{app.pk}/", **HTMX)

    assert "<html" in full.content.decode() and 'id="overview-live"' in full.content.decode()
    html = live.content.decode()
    assert html.lstrip().startswith('<div id="overview-live"') and "<html" not in html
    assert f'hx-get="/apps/{app.pk}/" hx-trigger="every 10s"' in html
    assert 'id="health"' in html and 'id="problems"' in html
    assert "HX-Request" in live["Vary"] and "HX-Request" in full["Vary"]


@time_machine.travel(NOW, tick=False)
def test_recover_answers_htmx_with_the_count_in_the_form(signed_in_client: Client, app: App) -> None:
    failed = [DeliveryFactory(event__app=app, status=Status.FAILED, created_at=NOW - timedelta(hours=2))
              for _ in range(3)]

    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "24h"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post"') and "<html" not in html
    assert "Queued 3 failed deliveries since 2025-03-09 15:00 UTC to be sent again." in html
    assert 'value="24h"' in html
    assert {delivery.status for delivery in Delivery.objects.filter(pk__in=[d.pk for d in failed])} == {Status.PENDING}
    # Nothing left for the next page to show: the message was shown in place.
    assert "Queued 3" not in page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")


def test_recover_answers_htmx_with_a_bad_time_next_to_the_field(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/recover/", {"since": "next friday"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Enter a date and time like" in field_errors(html, "recover-since")
    assert 'value="next friday"' in field_block(html, "recover-since")


def test_retry_answers_htmx_with_the_status_panel_that_polls_until_final(signed_in_client: Client,
                                                                         app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)

    response = signed_in_client.post(f"/deliveries/{delivery.pk}/retry/", **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="delivery-status"')
    assert 'data-status="pending"' in html and "Sent again" in html
    assert status_poll(html) == f"/deliveries/{delivery.pk}/?poll=1"
    assert "Sent again" not in page_text(signed_in_client, f"/deliveries/{delivery.pk}/")

    # Each answer asks for the next poll, counting.
    again = signed_in_client.get(f"/deliveries/{delivery.pk}/?poll=1", **HTMX).content.decode()
    assert status_poll(again) == f"/deliveries/{delivery.pk}/?poll=2" and "(this updates by itself)" in again

    Delivery.objects.filter(pk=delivery.pk).update(status=Status.DELIVERED, next_attempt_at=None)
    final = signed_in_client.get(f"/deliveries/{delivery.pk}/?poll=2", **HTMX).content.decode()
    assert 'data-status="delivered"' in final and "hx-trigger" not in final and "<html" not in final
    # The attempts come along, swapped in by their id, so a new attempt shows without a reload.
    assert '<section class="card" id="attempts" hx-swap-oob="true">' in final
    assert "hx-swap-oob" not in page_text(signed_in_client, f"/deliveries/{delivery.pk}/")


def status_poll(html: str) -> str | None:
    """The URL the status panel asks for a second later, or None when it does not poll."""
    panel = html[html.index('id="delivery-status"'):]
    panel = panel[:panel.index(">")]
    found = re.search(r'hx-get="([^"]+)" hx-trigger="load delay:1s"', panel)
    return found.group(1) if found else None


def test_the_status_panel_stops_polling_after_its_limit(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.PENDING, next_attempt_at=None)

    last = signed_in_client.get(f"/deliveries/{delivery.pk}/?poll={STATUS_POLLS_MAX - 1}", **HTMX).content.decode()
    assert status_poll(last) == f"/deliveries/{delivery.pk}/?poll={STATUS_POLLS_MAX}"

    for poll in (str(STATUS_POLLS_MAX), "1000", "-1", "x"):
        html = signed_in_client.get(f"/deliveries/{delivery.pk}/?poll={poll}", **HTMX).content.decode()
        assert status_poll(html) is None and "hx-trigger" not in html, poll
        # Still waiting: a link to look again instead of a promise that it updates.
        assert 'data-status="pending"' in html and "(this updates by itself)" not in html
        assert f'<a href="/deliveries/{delivery.pk}/" data-refresh>Refresh</a>' in html


@time_machine.travel(NOW, tick=False)
def test_a_delivery_due_in_an_hour_does_not_poll(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.RETRYING, next_attempt_at=NOW + timedelta(hours=1))

    page = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    polled = signed_in_client.get(f"/deliveries/{delivery.pk}/?poll=3", **HTMX).content.decode()

    for html in (page, polled):
        assert status_poll(html) is None and "hx-trigger" not in html
        assert f'<a href="/deliveries/{delivery.pk}/" data-refresh>Refresh</a>' in html
    assert '<time datetime="2025-03-10T16:00:00Z"' in page and "data-relative" in page


@time_machine.travel(NOW, tick=False)
def test_a_delivery_due_within_seconds_polls_on_a_page_load_unless_delivery_is_paused(signed_in_client: Client,
                                                                                       app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.RETRYING, next_attempt_at=NOW + timedelta(seconds=2))
    assert status_poll(page_text(signed_in_client, f"/deliveries/{delivery.pk}/")) == (
        f"/deliveries/{delivery.pk}/?poll=1"
    )

    App.objects.filter(pk=app.pk).update(delivery_enabled=False)
    paused = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    assert status_poll(paused) is None and "waits: delivery is paused" in paused


def test_retry_without_javascript_posts_and_redirects_to_the_delivery_with_the_message(signed_in_client: Client,
                                                                                       app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)
    response = signed_in_client.post(f"/deliveries/{delivery.pk}/retry/", follow=True)
    assert response.redirect_chain == [(f"/deliveries/{delivery.pk}/", 302)]
    html = response.content.decode()
    assert html.index("Sent again") < html.index('id="delivery-status"')


def test_the_app_pages_have_no_inline_scripts_or_style_attributes(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)
    for path in ("", "mappings/", "deliveries/", "settings/", "delete/"):
        html = page_text(signed_in_client, f"/apps/{app.pk}/{path}")
        assert " style=" not in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert '<meta name="htmx-config" content=\'{"allowEval":false' in html
        assert re.search(r'<script src="/static/vendor/htmx-2\.0\.\d+\.min\.js" defer>', html)
    assert " style=" not in page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
