"""Alerts at full size (tests/scenarios.py): one app's Chartboost down for 60 s, conditions evaluated every 10 s
and probes doubling from 2 s to 300 s, the defaults.

Target (issue 16): the `circuit_open` alert reaches every channel (webhook, Slack, e-mail) within 2 minutes of the
outage's start, and `recovered` within 2 minutes of its end. Sizes can be changed with OUTAGE_SECONDS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_django import Settings

from delivery.alerts.channels import alert_channel_create
from tests.alert_receiver import AlertReceiver
from tests.factories import OrganizationFactory
from tests.scenarios import alert_outage_run


@pytest.mark.django_db(transaction=True)
def test_a_60_second_outage_is_alerted_and_recovered_within_2_minutes(settings: Settings, tmp_path: Path) -> None:
    settings.DEBUG = True
    outage = float(os.environ.get("OUTAGE_SECONDS", "60"))
    organization = OrganizationFactory()
    with AlertReceiver() as webhook, AlertReceiver() as slack:
        alert_channel_create(organization=organization, kind="webhook", target=webhook.url)
        alert_channel_create(organization=organization, kind="slack", target=slack.url)
        alert_channel_create(organization=organization, kind="email", target="oncall@example.com")
        result = alert_outage_run(log_dir=tmp_path, organization=organization, webhook=webhook, slack=slack,
                                  outage_seconds=outage, evaluate_seconds=10, first_probe_seconds=2,
                                  max_probe_seconds=300, timeout=150)
    print(f"\noutage of {outage:.0f} s: {result}")
    assert all(seconds is not None and seconds <= 120 for seconds in result.alerted_after.values())
    assert all(seconds is not None and seconds <= 120 for seconds in result.recovered_after.values())
