"""Settings fail loudly, naming the variable, on a bad value."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trackerui import settings
from trackerui.foundation import env


def start_up_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only `env` set."""
    return subprocess.run(
        [sys.executable, "-c", "import trackerui.settings"], env=env, capture_output=True, text=True,
        cwd=settings.BASE_DIR,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("RETRY_MAX_AGE", "soon"),
        ("DELIVERY_LEASE_SECONDS", "0"),
        ("DELIVERY_RETENTION_DAYS", "0"),
        ("API_THROTTLE_RATE", "lots"),
        ("INGEST_THROTTLE_RATE", "0/s"),
        ("LOG_LEVEL", "chatty"),
        ("TOKEN_ENCRYPTION_KEY", "not-a-key"),
        ("DATABASE_URL", "nonsense://"),
        ("TRUST_X_FORWARDED_PROTO", "maybe"),
        ("PROXY_COUNT", "-1"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("CSRF_TRUSTED_ORIGINS", "tracker.example.com"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    result = start_up_with({"PATH": "", name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_requires_a_token_encryption_key() -> None:
    result = start_up_with({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEY" in result.stderr


PRODUCTION = {
    "PATH": os.environ["PATH"],
    "DEBUG": "false",
    "SECRET_KEY": "k7Qz3-production-like-secret-key-for-the-tests-Xy81pL0vRm2sN9wEuTb",
    "TOKEN_ENCRYPTION_KEY": "rQ0J1Bq8kYbT8yM7m3Zy2cAqQ1m9o3c8M3oV2r9h0bE=",
    "ALLOWED_HOSTS": "tracker.example.com",
}


def test_production_refuses_the_development_secret_key() -> None:
    result = start_up_with({**PRODUCTION, "SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_deployment_that_forgets_debug_false_refuses_to_serve_other_hosts_with_the_development_key() -> None:
    result = start_up_with({"PATH": "", "ALLOWED_HOSTS": "127.0.0.1,tracker.example.com"})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr and "SECRET_KEY" in result.stderr
    assert "tracker.example.com" in result.stderr


def test_development_starts_with_no_settings_on_loopback_names() -> None:
    assert start_up_with({"PATH": ""}).returncode == 0
    loopback = {"PATH": "", "ALLOWED_HOSTS": "localhost,127.0.0.1,::1,testserver,tracker.localhost"}
    assert start_up_with(loopback).returncode == 0


def test_check_deploy_reports_nothing_with_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=PRODUCTION, capture_output=True, text=True, cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_durations_accept_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_MAX_AGE", "72h")
    assert env.env_duration("RETRY_MAX_AGE", "1s") == 72 * 3600
    monkeypatch.setenv("RETRY_MAX_AGE", "90")
    assert env.env_duration("RETRY_MAX_AGE", "1s") == 90


def test_sqlite_runs_in_wal_mode(db: None) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("WAL is SQLite's")

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [("DELIVERY_LEASE_SECONDS", "61", "at most 60"), ("TRACKER_PARTY", " ", "must not be empty")],
)
def test_limits_from_the_spec_are_enforced_at_start_up(name: str, value: str, words: str) -> None:
    result = start_up_with({"PATH": "", name: value})
    assert result.returncode != 0
    assert name in result.stderr and words in result.stderr


def test_a_run_on_a_shared_database_server_names_its_own_test_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
    monkeypatch.delenv("TEST_DATABASE_NAME", raising=False)
    assert "NAME" not in settings._database().get("TEST", {}), "Django's default, test_tracker"
    monkeypatch.setenv("TEST_DATABASE_NAME", "test_ci_20261201_42")
    assert settings._database()["TEST"]["NAME"] == "test_ci_20261201_42"


def test_django_q_queues_on_redis_when_redis_url_is_set_and_in_the_database_otherwise(db: None) -> None:
    """So a CI pass meant for Redis cannot quietly run on the ORM broker (.ci/run)."""
    from django_q.brokers import get_broker

    broker = get_broker()
    if os.environ.get("REDIS_URL"):
        assert broker.info().startswith("Redis")
        assert broker.ping()
    else:
        assert broker.info() == "ORM default"


def test_the_cache_holding_rate_limits_is_shared_by_every_process(db: None) -> None:
    """Redis when REDIS_URL is set, else a table in the database: never one process's memory."""
    from django.conf import settings as django_settings
    from django.core.cache import cache

    backend = django_settings.CACHES["default"]["BACKEND"]
    if os.environ.get("REDIS_URL"):
        assert backend == "django.core.cache.backends.redis.RedisCache"
    else:
        assert backend == "django.core.cache.backends.db.DatabaseCache"
    cache.set("settings-test", "shared", 10)
    assert cache.get("settings-test") == "shared"
    cache.delete("settings-test")


def test_migrate_creates_the_database_cache_table(tmp_path: Path) -> None:
    """The test database gets it from Django's test runner; a deployment gets it from `migrate`."""
    database = tmp_path / "fresh.sqlite3"
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "trackerui", "--noinput"],
        env={"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True, text=True, cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "cache_table" in tables
