"""Deleting an app archives it (trackerui/dashboard/services.py `app_archive`, `DELETE /api/v1/apps/{app_id}/`)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.models import Delivery, DeliveryRollup
from delivery.outbox.state import ARCHIVED_REASON
from mappings.models import App
from tests.factories import AttemptFactory, DeliveryFactory, EventPayloadFactory, MappingFactory
from trackerui.accounts.models import Organization

Status = Delivery.Status
TOKEN = "cb8b8abc2860ab0ffdfab6bce72270b1bf9c213c83190815f61c0ac5d03794ac"



def archive(api: APIClient, app: App) -> App:
    assert api.delete(f"/api/v1/apps/{app.pk}/").status_code == 204
    app.refresh_from_db()
    return app


def test_a_deleted_app_is_gone_from_the_list_the_api_and_the_pages(
    api: APIClient, signed_in_client: Client, app: App
) -> None:
    mapping = MappingFactory(app=app)
    archive(api, app)

    assert api.get("/api/v1/apps/").json()["count"] == 0
    for path in (f"/api/v1/apps/{app.pk}/", f"/api/v1/apps/{app.pk}/mappings/", f"/api/v1/apps/{app.pk}/stats/",
                 f"/api/v1/apps/{app.pk}/mappings/{mapping.pk}/"):
        assert api.get(path).status_code == 404, path
    assert api.delete(f"/api/v1/apps/{app.pk}/").status_code == 404
    assert app.name not in signed_in_client.get("/apps/").content.decode()
    for path in (f"/apps/{app.pk}/", f"/apps/{app.pk}/edit/", f"/apps/{app.pk}/deliveries/"):
        assert signed_in_client.get(path).status_code == 404, path


def test_a_deleted_app_accepts_no_events(api: APIClient, app: App) -> None:
    archive(api, app)

    response = api.post(f"/api/v1/apps/{app.pk}/events/", EventPayloadFactory(), format="json")

    assert response.status_code == 404
    assert not app.tracked_events.exists()


def test_its_waiting_deliveries_end_failed_and_finished_ones_keep_their_history(api: APIClient, app: App) -> None:
    waiting = [DeliveryFactory(event__app=app, status=status, next_attempt_at=timezone.now())
               for status in (Status.PENDING, Status.RETRYING)]
    delivered = DeliveryFactory(event__app=app, status=Status.DELIVERED)
    AttemptFactory(delivery=delivered)

    archive(api, app)

    for delivery in waiting:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.reason, delivery.next_attempt_at) == (Status.FAILED, ARCHIVED_REASON, None)
    delivered.refresh_from_db()
    assert delivered.status == Status.DELIVERED and delivered.attempts.count() == 1
    counts = dict(DeliveryRollup.objects.filter(app=app).values_list("status", "count"))
    assert counts == {Status.PENDING: 0, Status.RETRYING: 0, Status.FAILED: 2, Status.DELIVERED: 1}


def test_its_token_is_erased(api: APIClient, app: App) -> None:
    app = archive(api, app)

    assert app.chartboost_app_token == "" and app.chartboost_app_token_hint == ""
    assert App.objects.filter(pk=app.pk, chartboost_app_token="").exists()


def test_its_deliveries_are_a_404_in_the_api(api: APIClient, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)
    archive(api, app)

    assert api.get(f"/api/v1/deliveries/{delivery.pk}/").status_code == 404
    assert api.post(f"/api/v1/deliveries/{delivery.pk}/retry/").status_code == 404


def test_support_staff_still_read_it_in_the_admin_marked_archived(
    api: APIClient, staff_client: Client, app: App, member: User
) -> None:
    live = MappingFactory(app__organization=app.organization).app
    delivery = DeliveryFactory(event__app=app, status=Status.DELIVERED)
    archive(api, app)

    archived_only = staff_client.get("/admin/mappings/app/?state=archived").content.decode()
    assert app.name in archived_only and live.name not in archived_only
    assert "archived" in staff_client.get("/admin/mappings/app/").content.decode()
    page = staff_client.get(f"/admin/mappings/app/{app.pk}/change/")
    assert page.status_code == 200 and app.name in page.content.decode()
    # Read-only: it has no token, so there is nothing to save.
    assert staff_client.post(f"/admin/mappings/app/{app.pk}/change/", {"name": "Revived"}).status_code == 403
    assert staff_client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").status_code == 200


def test_its_chartboost_app_id_is_free_for_a_new_app(api: APIClient, app: App) -> None:
    archive(api, app)

    response = api.post("/api/v1/apps/", {"name": "Same game, again", "platform": "ios",
                                          "chartboost_app_id": app.chartboost_app_id, "chartboost_app_token": TOKEN},
                        format="json")

    assert response.status_code == 201, response.json()
    assert App.objects.filter(organization=app.organization, chartboost_app_id=app.chartboost_app_id).count() == 2


def test_the_organization_keeps_its_other_apps(api: APIClient, app: App, organization: Organization) -> None:
    other = MappingFactory(app__organization=organization).app
    archive(api, app)

    assert [row["id"] for row in api.get("/api/v1/apps/").json()["results"]] == [other.pk]
