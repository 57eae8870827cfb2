"""delivery.outbox.recovery: sending failed deliveries again, one or an app's since a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from pytest_django import DjangoCaptureOnCommitCallbacks

from delivery.models import Attempt, Delivery
from delivery.outbox.recovery import DeliveryNotFailed, deliveries_recover, deliveries_retry, delivery_retry
from delivery.sandbox import ChartboostSandbox
from mappings.models import App
from tests.factories import AppFactory, AttemptFactory, DeliveryFactory
from tests.live_receiver import run_queued_sends

Status = Delivery.Status
NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_a_retried_delivery_starts_over_as_pending_due_now_with_a_fresh_window(app: App) -> None:
    delivery = DeliveryFactory(
        event__app=app, status=Status.FAILED, reason="gave up after 12 attempts", attempt_count=12,
        first_attempt_at=datetime(2025, 3, 6, tzinfo=UTC), next_attempt_at=None,
        lease_token="old", lease_until=datetime(2025, 3, 6, tzinfo=UTC),
    )
    AttemptFactory.create_batch(2, delivery=delivery)

    delivery_retry(delivery=delivery)

    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING
    assert delivery.reason == ""
    assert delivery.next_attempt_at == NOW
    # The first attempt is never reset; the retry window starts again at the next attempt.
    assert delivery.first_attempt_at == datetime(2025, 3, 6, tzinfo=UTC)
    assert delivery.retry_window_started_at is None
    assert (delivery.lease_token, delivery.lease_until) == ("", None)
    # The history stays: what was tried before is part of the audit.
    assert delivery.attempt_count == 12
    assert Attempt.objects.filter(delivery=delivery).count() == 2


def test_the_retry_is_queued_only_once_committed(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery_retry(delivery=delivery)
        delivery.refresh_from_db()
        assert delivery.lease_token == ""

    assert len(callbacks) == 1
    callbacks[0]()
    delivery.refresh_from_db()
    assert delivery.lease_token != ""


def test_a_delivery_that_is_not_failed_cannot_be_retried(app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.DELIVERED)

    with pytest.raises(DeliveryNotFailed, match="is delivered"):
        delivery_retry(delivery=delivery)


def test_retrying_twice_sends_once(
    app: App, chartboost_sandbox: ChartboostSandbox, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)
    stale_copy = Delivery.objects.get(pk=delivery.pk)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=delivery)
        # A second click, from a page that still showed it failed.
        with pytest.raises(DeliveryNotFailed, match="is pending"):
            delivery_retry(delivery=stale_copy)
    run_queued_sends()

    assert len(chartboost_sandbox.received) == 1
    assert Attempt.objects.filter(delivery=delivery).count() == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED


def test_a_retried_delivery_of_a_paused_app_waits_as_pending(
    db: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    app = AppFactory(delivery_enabled=False)
    delivery = DeliveryFactory(event__app=app, status=Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=delivery)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.lease_token) == (Status.PENDING, "")


@time_machine.travel(NOW, tick=False)
def test_retrying_a_chosen_set_restarts_only_its_failed_deliveries_in_one_queued_kick(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    failed = DeliveryFactory.create_batch(2, event__app=app, status=Status.FAILED, first_attempt_at=NOW)
    delivered = DeliveryFactory(event__app=app, status=Status.DELIVERED)
    not_chosen = DeliveryFactory(event__app=app, status=Status.FAILED)
    chosen = Delivery.objects.filter(pk__in=[*(d.pk for d in failed), delivered.pk])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        count = deliveries_retry(deliveries=chosen)

    assert (count, len(callbacks)) == (2, 1)
    restarted = Delivery.objects.filter(pk__in=[d.pk for d in failed])
    # Pending, due now, with a fresh window; the lease says the one kick claimed and queued them.
    assert {(d.status, d.next_attempt_at, d.retry_window_started_at, bool(d.lease_token)) for d in restarted} == {
        (Status.PENDING, NOW, None, True)
    }
    assert Delivery.objects.get(pk=delivered.pk).status == Status.DELIVERED
    assert Delivery.objects.get(pk=not_chosen.pk).status == Status.FAILED


def test_retrying_a_set_without_failed_deliveries_queues_nothing(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    delivered = DeliveryFactory(event__app=app, status=Status.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert deliveries_retry(deliveries=Delivery.objects.filter(pk=delivered.pk)) == 0

    assert callbacks == []


@time_machine.travel(NOW, tick=False)
def test_recover_restarts_only_the_apps_failed_deliveries_created_since(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    since = datetime(2025, 3, 8, tzinfo=UTC)
    recovered = [
        DeliveryFactory(event__app=app, status=Status.FAILED, created_at=since),
        DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime(2025, 3, 9, tzinfo=UTC)),
    ]
    untouched = [
        DeliveryFactory(event__app=app, status=Status.FAILED, created_at=datetime(2025, 3, 7, 23, 59, tzinfo=UTC)),
        DeliveryFactory(event__app=app, status=Status.DELIVERED, created_at=NOW),
        DeliveryFactory(event__app=app, status=Status.SUPPRESSED, created_at=NOW),
        DeliveryFactory(event__app=AppFactory(), status=Status.FAILED, created_at=NOW),
    ]
    before = {d.id: d.status for d in untouched}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        count = deliveries_recover(app=app, since=since)

    assert count == 2
    assert len(callbacks) == 1
    for delivery in recovered:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.next_attempt_at, delivery.first_attempt_at) == (Status.PENDING, NOW, None)
        assert delivery.lease_token  # Claimed and queued.
    assert {d.id: Delivery.objects.get(pk=d.id).status for d in untouched} == before


def test_recover_with_nothing_failed_queues_nothing(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert deliveries_recover(app=app, since=datetime(2000, 1, 1, tzinfo=UTC)) == 0

    assert callbacks == []


def test_an_archived_apps_failed_deliveries_are_not_sent_again(app: App) -> None:
    from trackerui.dashboard.services import app_archive

    failed = DeliveryFactory(event__app=app, status=Status.FAILED, next_attempt_at=None)
    app_archive(app=app)

    assert deliveries_retry(deliveries=Delivery.objects.filter(pk=failed.pk)) == 0
    assert Delivery.objects.get(pk=failed.pk).status == Status.FAILED
