"""The delivery admin for support staff: search, read-only attempts, bulk retry, per-app history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from delivery.models import Attempt, Delivery
from tests.factories import (
    AppFactory,
    AttemptFactory,
    DeliveryFactory,
    EventNameFactory,
    MembershipFactory,
    UserFactory,
)
from tests.page_helpers import history_row

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 15, tzinfo=UTC)
CHANGELIST = "/admin/delivery/delivery/"



def listed(html: str) -> set[int]:
    """The deliveries on a changelist page, read from their action checkboxes."""
    return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', html)}


def test_customers_who_are_not_staff_cannot_open_the_delivery_admin(db: None) -> None:
    client = Client()
    client.force_login(MembershipFactory().user)
    for path in (CHANGELIST, f"{CHANGELIST}history/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_list_shows_status_early_in_a_few_short_columns_and_each_app_once(staff_client: Client) -> None:
    delivery = DeliveryFactory(event__app__name="Puzzle Quest (iOS)", event__app__platform="ios",
                               event__event_id="evt-42", event__name="level_up", status=Status.FAILED)
    html = staff_client.get(CHANGELIST).content.decode()
    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert columns[:3] == ["id", "status_shown", "created"]
    assert len(columns) <= 8
    row = html[html.index(f'value="{delivery.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "Puzzle Quest (iOS)" in row and "(iOS) (iOS)" not in row
    assert "evt-42" in row and "level_up" in row and "Failed" in row
    retrying = DeliveryFactory(status=Status.RETRYING, next_attempt_at=datetime(2025, 3, 10, 15, 0, 8, tzinfo=UTC))
    html = staff_client.get(CHANGELIST).content.decode()
    row = html[html.index(f'value="{retrying.pk}"'):]
    next_due = ('<time datetime="2025-03-10T15:00:08Z" title="2025-03-10 15:00:08 UTC" data-seconds>'
                "2025-03-10 15:00:08 UTC</time>")
    assert f'Retrying<div class="quiet">next {next_due}</div>' in row[:row.index("</tr>")]


def test_the_lists_two_event_id_columns_say_whose_each_is(staff_client: Client) -> None:
    DeliveryFactory()
    html = staff_client.get(CHANGELIST).content.decode()
    headers = [re.sub(r"<[^>]+>", "", header).strip() for header in
               re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S)]
    assert "Your event_id and name" in headers and "Chartboost Event ID" in headers
    assert "Event ID" not in headers


def test_staff_find_a_delivery_by_event_id(staff_client: Client) -> None:
    wanted = DeliveryFactory(event__event_id="order-2025-03-10-0042")
    DeliveryFactory(event__event_id="order-2025-03-10-0043")
    html = staff_client.get(CHANGELIST, {"q": "order-2025-03-10-0042"}).content.decode()
    assert listed(html) == {wanted.pk}


def test_staff_find_a_devices_deliveries_by_the_id_as_received_or_as_stored(staff_client: Client) -> None:
    device = "b1c99c76f014428590cf3a5c99d9dfc6"
    wanted = {DeliveryFactory(event__device=device).pk, DeliveryFactory(event__device=device).pk}
    DeliveryFactory()
    assert listed(staff_client.get(CHANGELIST, {"q": device}).content.decode()) == wanted
    pasted = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"
    assert listed(staff_client.get(CHANGELIST, {"q": pasted}).content.decode()) == wanted


def test_the_changelist_filters_by_status_app_and_event_id(staff_client: Client) -> None:
    failed = DeliveryFactory(status=Status.FAILED, event_field=3)
    DeliveryFactory(status=Status.DELIVERED, event_field=1)
    assert listed(staff_client.get(CHANGELIST, {"status__exact": "failed"}).content.decode()) == {failed.pk}
    assert listed(staff_client.get(CHANGELIST, {"event_field": "3"}).content.decode()) == {failed.pk}
    assert listed(staff_client.get(CHANGELIST, {"app__id__exact": failed.app_id}).content.decode()) == {failed.pk}


def test_a_delivery_and_its_attempts_are_read_only(staff_client: Client) -> None:
    delivery = DeliveryFactory(status=Status.FAILED)
    AttemptFactory(delivery=delivery, number=1, response_message="Invalid signature",
                   request_body={"token": delivery.app.chartboost_app_token_hint, "party": "CB Tracker"})
    page = f"{CHANGELIST}{delivery.pk}/change/"

    html = staff_client.get(page).content.decode()

    assert "Invalid signature" in html and "CB Tracker" in html
    assert 'name="status"' not in html and 'name="attempts-0-outcome"' not in html
    assert 'name="_save"' not in html
    response = staff_client.post(page, {"status": "delivered"})
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    assert staff_client.get(f"{CHANGELIST}{delivery.pk}/delete/").status_code == 403


def test_a_delivery_never_sent_shows_its_item_as_not_sent(staff_client: Client) -> None:
    suppressed = DeliveryFactory(status=Delivery.Status.SUPPRESSED)
    delivered = DeliveryFactory(status=Delivery.Status.DELIVERED)

    html = staff_client.get(f"{CHANGELIST}{suppressed.pk}/change/").content.decode()
    assert "Not sent: this is what would have gone." in html and "Item sent" not in html
    html = staff_client.get(f"{CHANGELIST}{delivered.pk}/change/").content.decode()
    assert "Item in track_info" in html and "Not sent" not in html


def test_the_bulk_action_sends_again_only_the_failed_deliveries_and_says_how_many(staff_client: Client) -> None:
    failed = [DeliveryFactory(status=Status.FAILED, reason="gave up after 9 attempts") for _ in range(2)]
    delivered = DeliveryFactory(status=Status.DELIVERED)

    response = staff_client.post(CHANGELIST, {
        "action": "retry_failed", "_selected_action": [d.pk for d in [*failed, delivered]],
    }, follow=True)

    assert {d.status for d in Delivery.objects.filter(pk__in=[d.pk for d in failed])} == {Status.PENDING}
    delivered.refresh_from_db()
    assert delivered.status == Status.DELIVERED
    assert "Queued 2 failed deliveries to be sent again. Skipped 1 that was not failed." in (
        response.content.decode()
    )


def test_staff_who_may_only_view_deliveries_are_not_offered_the_retry(db: None) -> None:
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client = Client()
    client.force_login(viewer)
    failed = DeliveryFactory(status=Status.FAILED)

    assert "retry_failed" not in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "retry_failed", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


@time_machine.travel(NOW, tick=False)
def test_the_history_page_shows_an_apps_chart_and_per_day_table(staff_client: Client) -> None:
    app = AppFactory(name="Puzzle Quest")
    for status, count in ((Status.DELIVERED, 3), (Status.FAILED, 1), (Status.SUPPRESSED, 1)):
        for _ in range(count):
            DeliveryFactory(event__app=app, status=status, created_at=NOW)
    DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=NOW - timedelta(days=2))

    html = staff_client.get(f"{CHANGELIST}history/{app.pk}/", {"days": 7}).content.decode()

    assert "Success history: Puzzle Quest" in html
    assert html.count('<g class="bar">') == 7
    assert history_row(html, "2025-03-10") == ["Mon 10 Mar 2025", "5", "3", "1", "1", "0", "0", "75 %"]
    assert history_row(html, "total")[:4] == ["Total", "6", "4", "1"]
    assert f'href="/admin/delivery/delivery/?app__id__exact={app.pk}"' in html


def test_the_changelist_filtered_by_app_links_to_that_apps_history(staff_client: Client) -> None:
    app = AppFactory()
    html = staff_client.get(CHANGELIST, {"app__id__exact": app.pk}).content.decode()
    assert f'href="/admin/delivery/delivery/history/{app.pk}/"' in html
    index = staff_client.get(f"{CHANGELIST}history/").content.decode()
    assert f'href="/admin/delivery/delivery/history/{app.pk}/"' in index


def test_no_delivery_admin_page_shows_an_apps_token(staff_client: Client) -> None:
    app = AppFactory()
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)
    AttemptFactory(delivery=delivery, request_body={"token": app.chartboost_app_token_hint})
    event_name = EventNameFactory(app=app)
    pages = [
        CHANGELIST, f"{CHANGELIST}{delivery.pk}/change/", f"{CHANGELIST}history/", f"{CHANGELIST}history/{app.pk}/",
        "/admin/delivery/trackedevent/", f"/admin/delivery/trackedevent/{delivery.event_id}/change/",
        "/admin/delivery/eventname/", f"/admin/delivery/eventname/{event_name.pk}/change/",
    ]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
        assert app.chartboost_app_token not in response.content.decode(), page


def test_tracked_events_and_event_names_are_read_only(staff_client: Client) -> None:
    delivery = DeliveryFactory()
    assert staff_client.post(f"/admin/delivery/trackedevent/{delivery.event_id}/change/", {}).status_code == 403
    assert staff_client.get("/admin/delivery/trackedevent/add/").status_code == 403
    assert staff_client.get("/admin/delivery/eventname/add/").status_code == 403
    assert Attempt.objects.count() == 0
