"""/healthz with a real qcluster: ok while it runs, 503 once it has been dead for WORKER_STALE_SECONDS.

The suite uses 3 s; the default is 60 s, so a deployment's /healthz answers 503 about a
minute after its last worker died.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client
from pytest_django import Settings

from tests.live_receiver import QCluster, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3.0


def test_health_goes_down_once_the_last_worker_has_been_dead_for_the_stale_time(
    settings: Settings, tmp_path: Path
) -> None:
    settings.WORKER_STALE_SECONDS = STALE_SECONDS
    client = Client()
    cluster = QCluster(tmp_path / "qcluster.log").start()
    try:
        assert wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30), cluster.log()
    finally:
        cluster.kill()
    died = time.monotonic()

    assert wait_until(lambda: client.get("/healthz").status_code == 503, timeout=STALE_SECONDS + 10)
    down_after = time.monotonic() - died
    print(f"\n/healthz answered 503 {down_after:.1f} s after the last worker was killed "
          f"(stale after {STALE_SECONDS} s)")
    assert down_after <= STALE_SECONDS + 2
    assert client.get("/healthz").json()["checks"]["worker"]["ok"] is False
