"""An app token that TOKEN_ENCRYPTION_KEY cannot decrypt (a wrong or rotated-away key) breaks sending for
that app alone: every page and API answer still works, other apps' deliveries go out in the same batch,
and its own wait, retrying, with a reason that says how to fix it, until the token is re-entered."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from delivery.models import Attempt, Delivery
from delivery.outbox import state
from delivery.outbox.claims import deliveries_dispatch_due
from delivery.outbox.sending import UNSIGNED_WAIT_SECONDS, deliveries_send
from delivery.sandbox import ChartboostSandbox
from mappings.models import App
from tests.factories import (
    AppFactory,
    DeliveryFactory,
    EventPayloadFactory,
    MappingFactory,
    TrackedEventFactory,
    app_saved_with_another_key,
    saved_token,
)
from tests.live_receiver import run_queued_sends
from trackerui.accounts.models import Organization

NEW_TOKEN = "ab" * 32


@pytest.fixture
def unreadable(organization: Organization) -> App:
    return app_saved_with_another_key(organization=organization, name="Rotated Away")


def due(app: App) -> Delivery:
    return DeliveryFactory(event=TrackedEventFactory(app=app), next_attempt_at=timezone.now())


def test_one_batch_sends_the_other_apps_delivery_and_holds_the_unreadable_ones_retrying_with_the_reason(
    chartboost_sandbox: ChartboostSandbox, organization: Organization, unreadable: App
) -> None:
    readable = AppFactory(organization=organization)
    held, sent = due(unreadable), due(readable)
    # Both in one lease: one batch, as a worker would take them.
    token = state.deliveries_claim_events([held.event_id, sent.event_id], timezone.now())

    assert deliveries_send(token) == 1

    [received] = chartboost_sandbox.received
    assert received.problems == [] and received.header("X-Chartboost-App") == readable.chartboost_app_id
    sent.refresh_from_db()
    held.refresh_from_db()
    assert sent.status == Delivery.Status.DELIVERED
    assert held.status == Delivery.Status.RETRYING
    assert "cannot be decrypted with TOKEN_ENCRYPTION_KEY" in held.reason
    assert "Re-enter the token" in held.reason and "add the old key" in held.reason
    # Nothing was sent for it, so no attempt was made; it is tried again a minute later, and is not leased.
    assert (held.attempt_count, held.lease_token) == (0, "")
    assert not Attempt.objects.filter(delivery=held).exists()
    wait = (held.next_attempt_at - timezone.now()).total_seconds()
    assert UNSIGNED_WAIT_SECONDS - 5 < wait <= UNSIGNED_WAIT_SECONDS


def test_through_ingest_and_the_dispatcher_the_other_app_is_delivered_and_a_re_entered_token_sends_the_held_one(
    chartboost_sandbox: ChartboostSandbox, api: APIClient, organization: Organization, unreadable: App,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    readable = AppFactory(organization=organization)
    for app in (unreadable, readable):
        MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/apps/{app.pk}/events/", data=json.dumps(
                EventPayloadFactory(name="level_up", properties={"level": 3})), content_type="application/json")
        assert response.status_code == 202 and response.json()["accepted"] == 1
    run_queued_sends()
    assert [r.header("X-Chartboost-App") for r in chartboost_sandbox.received] == [readable.chartboost_app_id]
    [held] = Delivery.objects.filter(app=unreadable)
    assert held.status == Delivery.Status.RETRYING

    # A minute on, the dispatcher tries again: still unreadable, still held, still nothing lost or sent.
    with time_machine.travel(timezone.now() + timedelta(seconds=UNSIGNED_WAIT_SECONDS + 1), tick=False):
        deliveries_dispatch_due()
        run_queued_sends()
    held.refresh_from_db()
    assert (held.status, held.attempt_count, len(chartboost_sandbox.received)) == (Delivery.Status.RETRYING, 0, 1)

    # The owner re-enters the token; once the wait is over, the delivery goes out signed with it.
    response = api.patch(f"/api/v1/apps/{unreadable.pk}/", {"chartboost_app_token": NEW_TOKEN}, format="json")
    assert response.status_code == 200, response.json()
    with time_machine.travel(timezone.now() + timedelta(seconds=2 * UNSIGNED_WAIT_SECONDS + 2), tick=False):
        deliveries_dispatch_due()
        run_queued_sends()
    held.refresh_from_db()
    assert held.status == Delivery.Status.DELIVERED
    received = chartboost_sandbox.received[-1]
    assert received.problems == [] and received.body["token"] == NEW_TOKEN == saved_token(unreadable)


def test_a_held_delivery_whose_retry_window_ran_out_ends_failed_saying_why(
    chartboost_sandbox: ChartboostSandbox, settings: Settings, unreadable: App
) -> None:
    settings.RETRY_MAX_AGE = 60
    delivery = DeliveryFactory(event=TrackedEventFactory(app=unreadable), status=Delivery.Status.RETRYING,
                               attempt_count=3, next_attempt_at=timezone.now(),
                               retry_window_started_at=timezone.now() - timedelta(seconds=61))
    token = state.deliveries_claim_events([delivery.event_id], timezone.now())

    assert deliveries_send(token) == 0

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.reason.startswith("gave up after 3 attempts") and "TOKEN_ENCRYPTION_KEY" in delivery.reason


def test_every_page_and_api_answer_about_the_app_still_works(
    signed_in_client: Client, staff_client: Client, api: APIClient, unreadable: App
) -> None:
    DeliveryFactory(event=TrackedEventFactory(app=unreadable), status=Delivery.Status.FAILED)
    for path in ("/apps/", f"/apps/{unreadable.pk}/", f"/apps/{unreadable.pk}/edit/",
                 f"/apps/{unreadable.pk}/deliveries/"):
        assert signed_in_client.get(path).status_code == 200, path
    for path in ("/admin/mappings/app/", f"/admin/mappings/app/{unreadable.pk}/change/", "/admin/delivery/delivery/"):
        assert staff_client.get(path).status_code == 200, path
    for path in ("/api/v1/apps/", f"/api/v1/apps/{unreadable.pk}/", f"/api/v1/apps/{unreadable.pk}/deliveries/"):
        assert api.get(path).status_code == 200, path
    assert api.get(f"/api/v1/apps/{unreadable.pk}/").json()["chartboost_app_token_hint"].startswith("…")


def test_a_member_can_rename_the_app_without_its_token_being_decrypted(
    signed_in_client: Client, unreadable: App
) -> None:
    response = signed_in_client.post(f"/apps/{unreadable.pk}/edit/", {
        "name": "Renamed", "platform": unreadable.platform, "chartboost_app_id": unreadable.chartboost_app_id,
        "chartboost_app_token": "", "delivery_enabled": "on"})
    assert response.status_code == 302
    renamed = App.objects.get(pk=unreadable.pk)
    assert renamed.name == "Renamed"
    # The token was written back as it was: still the same ciphertext.
    assert renamed.chartboost_app_token == unreadable.chartboost_app_token


def test_the_app_page_says_what_is_wrong_once_signing_found_it_and_not_after_the_token_is_re_entered(
    chartboost_sandbox: ChartboostSandbox, signed_in_client: Client, api: APIClient, unreadable: App
) -> None:
    page = f"/apps/{unreadable.pk}/"
    assert 'id="token-unreadable"' not in signed_in_client.get(page).content.decode()
    deliveries_send(state.deliveries_claim_events([due(unreadable).event_id], timezone.now()))

    html = signed_in_client.get(page).content.decode()
    assert 'id="token-unreadable"' in html and "cannot be decrypted" in html

    api.patch(f"/api/v1/apps/{unreadable.pk}/", {"chartboost_app_token": NEW_TOKEN}, format="json")
    assert 'id="token-unreadable"' not in signed_in_client.get(page).content.decode()


def test_the_test_event_answers_a_clear_error_on_the_page_and_in_the_api_and_sends_nothing(
    chartboost_sandbox: ChartboostSandbox, signed_in_client: Client, api: APIClient, unreadable: App
) -> None:
    response = signed_in_client.post(f"/apps/{unreadable.pk}/test-event/", follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "The app token cannot be decrypted with TOKEN_ENCRYPTION_KEY" in html
    assert 'id="token-unreadable"' in html

    response = api.post(f"/api/v1/apps/{unreadable.pk}/test-event/")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("The app token cannot be decrypted with TOKEN_ENCRYPTION_KEY")
    assert chartboost_sandbox.received == []


def test_adding_the_old_key_back_sends_the_held_deliveries_and_the_app_page_no_longer_warns(
    chartboost_sandbox: ChartboostSandbox, settings: Settings, signed_in_client: Client, organization: Organization
) -> None:
    old_key = Fernet.generate_key().decode()
    app = app_saved_with_another_key(old_key, organization=organization)
    held = due(app)
    deliveries_send(state.deliveries_claim_events([held.event_id], timezone.now()))
    assert 'id="token-unreadable"' in signed_in_client.get(f"/apps/{app.pk}/").content.decode()

    settings.TOKEN_ENCRYPTION_KEYS = [*settings.TOKEN_ENCRYPTION_KEYS, old_key]
    later = timezone.now() + timedelta(seconds=UNSIGNED_WAIT_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        deliveries_send(state.deliveries_claim_events([held.event_id], later))
    held.refresh_from_db()
    assert held.status == Delivery.Status.DELIVERED
    assert chartboost_sandbox.received[-1].problems == []
    assert 'id="token-unreadable"' not in signed_in_client.get(f"/apps/{app.pk}/").content.decode()
