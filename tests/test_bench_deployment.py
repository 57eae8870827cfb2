"""`make bench` (benchmarks/deployment.py) runs end to end: a seconds-long version of every row.

No timing is asserted: a figure depends on the machine. What is checked is that each
measurement ran and printed its row, so a broken benchmark is caught by the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow


def test_the_deployment_benchmark_prints_every_row_of_its_table() -> None:
    ports = os.environ.get("TEST_PORT_RANGE", "8500-8519")
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.deployment", "--ingest-batches", "1", "--backlog", "200",
         "--seed-seconds", "0.5", "--ceiling-threads", "8", "--latency-seconds", "1", "--rates", "100",
         "--sustained-seconds", "1", "--simulate-events", "300", "--simulate-devices", "60", "--ports", ports],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300,
        env={key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    table = run.stdout.split("command:", 1)[1]
    for row in ("one client", "two clients at once", "drained by qcluster", "the seed's sender",
                "a bare client's ceiling", "ingest -> receiver", "sustained 100 events/s", "qcluster process",
                "gunicorn worker", "simulate a draft mapping"):
        assert row in table, run.stdout[-3000:]
    assert "nan" not in table.lower(), table
