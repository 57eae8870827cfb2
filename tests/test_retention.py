"""Retention (delivery/history/retention.py, `manage.py prune_deliveries`): old finished deliveries go,
history, the level rule and duplicate answers stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone
from django_q.models import Schedule
from pytest_django import Settings

from delivery import tasks
from delivery.history.chart import history_chart
from delivery.history.retention import PRUNE_TASK, SCHEDULE_NAME, deliveries_prune
from delivery.history.stats import app_stats
from delivery.models import Attempt, Delivery, DeliveryRollup, DeviceLevel, TrackedEvent
from delivery.sandbox import ChartboostSandbox
from delivery.schedules import schedules_install
from mappings.models import App
from tests.factories import (
    AppFactory,
    AttemptFactory,
    DeliveryFactory,
    EventPayloadFactory,
    MappingFactory,
    TrackedEventFactory,
)
from tests.live_receiver import events_ingest_kicked, run_queued_sends

DAY = 86400
Status = Delivery.Status


@pytest.fixture
def app(db: None) -> App:
    return AppFactory()


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def unix_days_ago(days: float) -> int:
    return int(days_ago(days).timestamp())


def old_delivery(app: App, status: str, *, days: float = 40, event_days: float = 40, **fields: object) -> Delivery:
    event = TrackedEventFactory(app=app, timestamp=unix_days_ago(event_days))
    sendable = status in Delivery.SENDABLE
    return DeliveryFactory(event=event, status=status, created_at=days_ago(days),
                           next_attempt_at=days_ago(days) if sendable else None, **fields)


def rollup_total(app: App) -> dict[str, int]:
    rows = DeliveryRollup.objects.filter(app=app).values("status").annotate(total=Sum("count"))
    return {row["status"]: row["total"] for row in rows if row["total"]}


@pytest.mark.parametrize("status", [Status.DELIVERED, Status.FAILED, Status.SUPPRESSED, Status.BLOCKED])
def test_a_finished_delivery_older_than_the_cutoff_goes_with_its_attempts(app: App, status: str) -> None:
    delivery = old_delivery(app, status)
    AttemptFactory(delivery=delivery, number=1)
    AttemptFactory(delivery=delivery, number=2)

    result = deliveries_prune(older_than_seconds=30 * DAY)

    assert (result.deliveries, result.attempts) == (1, 2)
    assert not Delivery.objects.exists() and not Attempt.objects.exists()


@pytest.mark.parametrize("status", [Status.PENDING, Status.RETRYING])
def test_a_delivery_still_to_be_sent_is_never_pruned_nor_its_event(app: App, status: str) -> None:
    delivery = old_delivery(app, status, days=400, event_days=400)
    AttemptFactory(delivery=delivery)

    result = deliveries_prune(older_than_seconds=0)

    assert (result.deliveries, result.attempts, result.tracked_events) == (0, 0, 0)
    assert Delivery.objects.filter(pk=delivery.pk).exists() and Attempt.objects.exists()
    assert TrackedEvent.objects.filter(pk=delivery.event_id).exists()


def test_a_finished_delivery_newer_than_the_cutoff_stays(app: App) -> None:
    delivery = old_delivery(app, Status.DELIVERED, days=29)

    assert deliveries_prune(older_than_seconds=30 * DAY).deliveries == 0
    assert Delivery.objects.filter(pk=delivery.pk).exists()


def test_it_deletes_in_batches_of_the_given_size_until_nothing_old_is_left(app: App) -> None:
    for _ in range(7):
        old_delivery(app, Status.DELIVERED)
    kept = old_delivery(app, Status.PENDING)

    result = deliveries_prune(older_than_seconds=30 * DAY, batch_size=2)

    assert (result.deliveries, result.complete) == (7, True)
    assert list(Delivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_spent_time_budget_stops_before_the_next_batch(app: App) -> None:
    for _ in range(3):
        old_delivery(app, Status.DELIVERED)

    result = deliveries_prune(older_than_seconds=30 * DAY, time_budget_seconds=0)

    assert (result.deliveries, result.complete) == (0, False)
    assert Delivery.objects.count() == 3


def test_a_tracked_event_stays_as_a_duplicate_key_until_its_timestamp_passes_retention(
    app: App, settings: Settings
) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    recent = old_delivery(app, Status.DELIVERED, days=10, event_days=29).event
    expired = old_delivery(app, Status.DELIVERED, days=10, event_days=31).event
    unmapped_recent = TrackedEventFactory(app=app, timestamp=unix_days_ago(29))
    unmapped_expired = TrackedEventFactory(app=app, timestamp=unix_days_ago(31))

    # Whatever --older-than says, the keys follow DELIVERY_RETENTION_DAYS.
    result = deliveries_prune(older_than_seconds=0)

    assert (result.deliveries, result.tracked_events) == (2, 2)
    assert set(TrackedEvent.objects.values_list("pk", flat=True)) == {recent.pk, unmapped_recent.pk}
    assert not TrackedEvent.objects.filter(pk__in=[expired.pk, unmapped_expired.pk]).exists()


def test_an_old_tracked_event_with_a_delivery_left_stays(app: App) -> None:
    event = old_delivery(app, Status.DELIVERED, days=10, event_days=400).event

    assert deliveries_prune(older_than_seconds=30 * DAY).tracked_events == 0
    assert TrackedEvent.objects.filter(pk=event.pk).exists()


def test_device_levels_and_rollups_are_never_pruned(app: App) -> None:
    old_delivery(app, Status.DELIVERED, days=400, event_days=400)
    DeviceLevel.objects.create(app=app, device="d" * 32, event_field=1, main_level=9, sub_level=0)
    before = rollup_total(app)

    result = deliveries_prune(older_than_seconds=0)

    assert (result.deliveries, result.tracked_events) == (1, 1)
    assert DeviceLevel.objects.filter(app=app, main_level=9).exists()
    assert rollup_total(app) == before == {Status.DELIVERED: 1}


def ingest_one(app: App, event_id: str, level: int) -> dict:
    payload = EventPayloadFactory(event_id=event_id, properties={"level": level})
    (result,) = events_ingest_kicked(app=app, events=[payload])["results"]
    return result


def test_after_pruning_everything_history_the_level_rule_and_duplicates_hold(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    assert ingest_one(app, "evt-high", 5)["status"] == "accepted"
    assert run_queued_sends() == 1
    assert Delivery.objects.get().status == Status.DELIVERED
    rollups_before = rollup_total(app)
    stats_before = app_stats(app, days=30)
    chart_before = history_chart(stats_before)

    out = StringIO()
    call_command("prune_deliveries", "--older-than", "0s", stdout=out)

    assert "Pruned 1 deliveries, 1 attempts and 0 tracked events" in out.getvalue()
    assert not Delivery.objects.exists() and not Attempt.objects.exists()
    assert rollup_total(app) == rollups_before == {Status.DELIVERED: 1}
    # The stats API's days and the app page's chart read the rollups: nothing shown changes.
    assert app_stats(app, days=30) == stats_before
    assert stats_before.totals.delivered == 1
    assert history_chart(app_stats(app, days=30)) == chart_before
    lower = ingest_one(app, "evt-lower", 3)
    assert lower["status"] == "accepted"
    assert [d["status"] for d in lower["deliveries"]] == [Status.SUPPRESSED]
    assert ingest_one(app, "evt-high", 5)["status"] == "duplicate"


def test_the_command_prunes_by_retention_days_by_default(app: App, settings: Settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    old = old_delivery(app, Status.FAILED, days=31)
    young = old_delivery(app, Status.FAILED, days=29)

    call_command("prune_deliveries", stdout=StringIO())

    assert list(Delivery.objects.values_list("pk", flat=True)) == [young.pk]
    assert not Delivery.objects.filter(pk=old.pk).exists()


@pytest.mark.parametrize(("duration", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("72h", 3 * DAY),
                                                 ("3d", 3 * DAY)])
def test_the_command_reads_durations_like_retry_max_age(app: App, duration: str, seconds: int) -> None:
    older = old_delivery(app, Status.DELIVERED, days=seconds * 1.1 / DAY)
    newer = old_delivery(app, Status.DELIVERED, days=seconds * 0.9 / DAY)

    call_command("prune_deliveries", "--older-than", duration, stdout=StringIO())

    assert list(Delivery.objects.values_list("pk", flat=True)) == [newer.pk]
    assert not Delivery.objects.filter(pk=older.pk).exists()


@pytest.mark.parametrize("duration", ["soon", "-5s", "3w"])
def test_the_command_refuses_a_bad_duration_naming_the_option(db: None, duration: str) -> None:
    with pytest.raises(CommandError, match="--older-than"):
        call_command("prune_deliveries", "--older-than", duration, stdout=StringIO())


def test_a_daily_schedule_is_installed_after_migrate_once(db: None) -> None:
    schedules_install()
    schedules_install()

    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (PRUNE_TASK, Schedule.DAILY, -1)


def test_the_scheduled_task_prunes_by_retention_days(app: App, settings: Settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    old_delivery(app, Status.DELIVERED, days=31)
    young = old_delivery(app, Status.DELIVERED, days=29)

    result = tasks.deliveries_prune()

    assert (result.deliveries, result.complete) == (1, True)
    assert list(Delivery.objects.values_list("pk", flat=True)) == [young.pk]
