"""Upgrading fills the rebuilt core's tables from existing rows, so nothing shown changes (migrations 0004, 0005)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

BEFORE = [("delivery", "0002_retry_window"), ("mappings", "0001_initial")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_rollups_first_attempts_retry_windows_and_queues_are_filled_from_existing_rows() -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    organization = old.get_model("accounts", "Organization").objects.create(name="Old", slug="old")
    app = old.get_model("mappings", "App").objects.create(
        organization=organization, name="Old game", platform="ios", chartboost_app_id="a" * 24,
        chartboost_app_token="",
    )
    event = old.get_model("delivery", "TrackedEvent").objects.create(
        app=app, event_id="e1", name="level_up", timestamp=1, platform="iOS 17", identifiers={}, device="d",
    )
    created = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    Delivery = old.get_model("delivery", "Delivery")
    first = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)
    retried_window = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    # Retried by hand once: the old code had reset first_attempt_at to the new window's start.
    retried = Delivery.objects.create(event=event, app=app, event_field=1, item={}, status="pending",
                                      created_at=created, attempt_count=2, first_attempt_at=retried_window,
                                      next_attempt_at=retried_window)
    Delivery.objects.create(event=event, app=app, event_field=2, item={}, status="delivered", created_at=created,
                            attempt_count=1, first_attempt_at=first)
    Attempt = old.get_model("delivery", "Attempt")
    Attempt.objects.create(delivery=retried, number=1, started_at=first, endpoint="x", outcome="failed")
    Attempt.objects.create(delivery=retried, number=2, started_at=retried_window, endpoint="x", outcome="retry")

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    new = migrate(latest).loader.project_state(latest).apps

    NewDelivery = new.get_model("delivery", "Delivery")
    filled = NewDelivery.objects.get(pk=retried.pk)
    assert (filled.first_attempt_at, filled.retry_window_started_at) == (first, retried_window)
    hours = new.get_model("delivery", "DeliveryRollup").objects.values_list("hour", "event_field", "status", "count")
    assert sorted(hours) == [(datetime(2026, 11, 20, 9, tzinfo=UTC), 1, "pending", 1),
                             (datetime(2026, 11, 20, 9, tzinfo=UTC), 2, "delivered", 1)]
    days = new.get_model("delivery", "DeliveryDayRollup").objects.values_list("day", "status", "count")
    assert sorted(days) == [(date(2026, 11, 20), "delivered", 1), (date(2026, 11, 20), "pending", 1)]
    # Filled as `AppQueue` by 0004, kept by its rename (0009).
    sending_state = new.get_model("delivery", "AppSendingState").objects.get(app_id=app.pk)
    assert sending_state.due_at is not None, "an app with something waiting is looked at on the first tick"


def test_the_models_and_the_migrations_agree(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    # Exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


@pytest.mark.django_db(transaction=True)
def test_the_token_hint_column_is_filled_from_each_saved_token_and_left_blank_for_an_unreadable_one() -> None:
    before = [("mappings", "0003_text_and_integer_rules")]
    old = migrate(before).loader.project_state(before).apps
    organization = old.get_model("accounts", "Organization").objects.create(name="Old", slug="old")
    OldApp = old.get_model("mappings", "App")
    readable = OldApp.objects.create(organization=organization, name="Readable", platform="ios",
                                     chartboost_app_id="a" * 24, chartboost_app_token="ab" * 31 + "c9")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        unreadable = OldApp.objects.create(organization=organization, name="Rotated", platform="ios",
                                           chartboost_app_id="b" * 24, chartboost_app_token="cd" * 32)

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    App = migrate(latest).loader.project_state(latest).apps.get_model("mappings", "App")

    assert App.objects.get(pk=readable.pk).chartboost_app_token_hint == "…babababc9"
    assert App.objects.get(pk=unreadable.pk).chartboost_app_token_hint == ""
