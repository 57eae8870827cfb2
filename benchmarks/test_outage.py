"""One app's Chartboost down for 60 s while another's is healthy, at full size (tests/scenarios.py).

Targets: the failing app's 200 deliveries cause fewer than 80 requests during the outage,
the healthy app is fully delivered during it, and the failing app's backlog drains within
150 s after. Sizes can be changed with OUTAGE_SECONDS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scenarios import outage_run


@pytest.mark.django_db(transaction=True)
def test_a_60_second_outage_of_one_app(tmp_path: Path) -> None:
    outage = float(os.environ.get("OUTAGE_SECONDS", "60"))
    result = outage_run(log_dir=tmp_path, outage_seconds=outage, first_probe_seconds=2, max_probe_seconds=300,
                        drain_timeout=150)
    print(f"\noutage of {outage:.0f} s: {result}")
    assert result.failing_requests_during_outage < 80
    assert result.healthy_delivered_during_outage == 200
    assert result.drained_after_seconds is not None and result.drained_after_seconds <= 150
