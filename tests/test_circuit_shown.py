"""An app's circuit shows in its API answer, on its page, on the apps list and in the admin."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.models import AppSendingState, Delivery
from mappings.models import App
from tests.factories import AppFactory, DeliveryFactory


def circuit_open(app: App) -> AppSendingState:
    now = timezone.now()
    return AppSendingState.objects.update_or_create(
        app=app, defaults={"circuit": "open", "circuit_since": now, "failures": 5, "probe_interval": 4,
                           "next_probe_at": now + timedelta(seconds=4)},
    )[0]


def test_an_apps_answer_carries_its_circuit_closed_or_open(api: APIClient, app: App) -> None:
    assert api.get(f"/api/v1/apps/{app.id}/").json()["circuit"] == {
        "state": "closed", "since": None, "next_probe_at": None, "paused_until": None,
    }

    queue = circuit_open(app)

    circuit = api.get(f"/api/v1/apps/{app.id}/").json()["circuit"]
    assert circuit["state"] == "open"
    assert circuit["since"] == queue.circuit_since.isoformat().replace("+00:00", "Z")
    assert circuit["next_probe_at"] == queue.next_probe_at.isoformat().replace("+00:00", "Z")
    (listed,) = api.get("/api/v1/apps/").json()["results"]
    assert listed["circuit"]["state"] == "open"


def test_the_apps_list_reads_every_circuit_in_one_query(
    api: APIClient, app: App, django_assert_max_num_queries: object
) -> None:
    for _ in range(5):
        circuit_open(AppFactory(organization=app.organization))
    # Six for the page whatever the number of apps, eight for their health (`app_health`), and up
    # to four for the throttle's counter when the cache is the database's (trackerui/settings.py).
    with django_assert_max_num_queries(6 + 8 + 4):  # type: ignore[operator]
        assert len(api.get("/api/v1/apps/").json()["results"]) == 6


def test_the_app_page_says_plainly_why_nothing_goes_out_while_open(signed_in_client: Client, app: App) -> None:
    closed = signed_in_client.get(f"/apps/{app.pk}/").content.decode()
    assert "circuit closed" in closed
    assert "Chartboost keeps failing" not in closed

    circuit_open(app)

    page = signed_in_client.get(f"/apps/{app.pk}/").content.decode()
    assert "circuit open" in page
    assert "Chartboost keeps failing for this app" in page
    assert "Nothing is lost meanwhile" in page


def test_the_apps_list_badge_turns_red_while_open(signed_in_client: Client, app: App) -> None:
    DeliveryFactory(event__app=app, status=Delivery.Status.DELIVERED)
    circuit_open(app)
    page = signed_in_client.get("/apps/").content.decode()
    assert "Chartboost keeps failing for this app" in page
    assert 'class="badge danger' in page or "health danger" in page



def test_staff_see_each_apps_circuit_in_the_admin(staff_client: Client, app: App) -> None:
    circuit_open(app)
    page = staff_client.get("/admin/delivery/appsendingstate/?circuit__exact=open").content.decode()
    assert app.name in page


def test_deleting_an_app_in_the_admin_archives_it_and_keeps_its_history(staff_client: Client, app: App) -> None:
    delivered = DeliveryFactory(event__app=app, status=Delivery.Status.DELIVERED)
    confirm = staff_client.get(f"/admin/mappings/app/{app.pk}/delete/").content.decode()
    assert "is archived" in confirm

    staff_client.post(f"/admin/mappings/app/{app.pk}/delete/", {"post": "yes"})

    app.refresh_from_db()
    assert app.archived_at is not None
    assert Delivery.objects.filter(pk=delivered.pk).exists()
