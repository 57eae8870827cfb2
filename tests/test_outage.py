"""An outage of one app's Chartboost, scaled down: the circuit holds it back, other apps go on (docs/design.md).

`make bench` runs the same scenario at full size: a 60 s outage with probes from 2 s
(benchmarks/test_outage.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios import outage_run

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_outage_of_one_app_costs_few_requests_holds_up_no_other_app_and_drains_after(tmp_path: Path) -> None:
    # A sixth of the full scenario's times: a 10 s outage, probes from 0.25 s up to 50 s.
    result = outage_run(log_dir=tmp_path, outage_seconds=10, first_probe_seconds=0.25, max_probe_seconds=50,
                        drain_timeout=25)
    print(f"\n{result}")
    assert result.failing_requests_during_outage < 80
    assert result.healthy_delivered_during_outage == 200
    assert result.drained_after_seconds is not None and result.drained_after_seconds <= 25
