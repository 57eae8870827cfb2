"""Alerts on a real `qcluster`: an outage is told to every channel soon after it starts, and again when it ends;
a worker killed mid-send loses no alert.

Scaled down: conditions evaluated every 0.5 s instead of 10 s, probes capped at 1 s instead of 300 s. At full size the
issue asks for the alert, and the `recovered`, within 2 minutes of the start and of the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings
from standardwebhooks import Webhook

from delivery.alerts import state
from delivery.alerts.channels import alert_channel_create
from delivery.alerts.models import Alert
from tests.alert_receiver import AlertReceiver
from tests.live_receiver import QCluster, wait_until
from tests.scenarios import alert_outage_run
from trackerui.accounts.models import Organization

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_outage_is_alerted_on_every_channel_soon_after_it_starts_and_recovered_soon_after_it_ends(
    settings: Settings, tmp_path: Path, organization: Organization
) -> None:
    settings.DEBUG = True
    with AlertReceiver() as webhook, AlertReceiver() as slack:
        secret = alert_channel_create(organization=organization, kind="webhook", target=webhook.url).secret
        alert_channel_create(organization=organization, kind="slack", target=slack.url)
        alert_channel_create(organization=organization, kind="email", target="oncall@example.com")
        result = alert_outage_run(log_dir=tmp_path, organization=organization, webhook=webhook, slack=slack,
                                  outage_seconds=8, evaluate_seconds=0.5, max_probe_seconds=1, timeout=20)
        print(f"\n{result}")
        # The promise is two minutes at full size (benchmarks/test_alerts.py); at this scale the alert came
        # in about 3.5 s and the recovered one in about 11 s after the outage ended (2026-12-06), so 30 s
        # leaves room for a loaded machine while still failing an alert that waits for the next minute.
        assert all(seconds is not None and seconds < 30 for seconds in result.alerted_after.values()), result
        assert all(seconds is not None and seconds < 30 for seconds in result.recovered_after.values()), result
        messages = [Webhook(secret).verify(received.body, received.headers) for received in webhook.received]
    kinds = [message["type"] for message in messages]
    assert kinds.index("circuit_open") < kinds.index("recovered")
    recovered = messages[kinds.index("recovered")]
    assert recovered["figures"]["condition"] == "circuit_open" and recovered["figures"]["lasted_seconds"] >= 1
    assert recovered["link"].endswith(f"/apps/{recovered['app']['id']}/")
    # The outage's alert and its recovered, on all three channels (other conditions may have come and gone too).
    assert list(Alert.objects.filter(condition__kind="circuit_open").values_list("status", flat=True)) == [
        "delivered"] * 6


def test_an_alert_whose_worker_is_killed_mid_send_arrives_once_the_lease_runs_out(
    settings: Settings, tmp_path: Path, organization: Organization
) -> None:
    settings.DEBUG = True
    env = {"ALERT_SEND_TIMEOUT_SECONDS": "3", "DELIVERY_LEASE_SECONDS": "2", "DEBUG": "true"}
    with AlertReceiver(hang_first=1, hang_seconds=60) as webhook:
        created = alert_channel_create(organization=organization, kind="webhook", target=webhook.url)
        [alert] = state.alerts_create([state.NewAlert(created.channel.pk, None, None, "test",
                                                      {"type": "test", "title": "Test alert", "summary": "s",
                                                       "link": "l"})])
        first = QCluster(tmp_path / "first.log", **env).start()
        try:
            assert webhook.wait_for(lambda received: True, timeout=30), first.log()
        finally:
            first.kill()
        alert.refresh_from_db()
        assert alert.status == "pending" and alert.lease_until > timezone.now()
        with QCluster(tmp_path / "second.log", **env) as second:
            delivered = wait_until(lambda: Alert.objects.filter(pk=alert.pk, status="delivered").exists(),
                                   timeout=40)
            assert delivered, second.log()
        ids = [received.headers["webhook-id"] for received in webhook.received]
    alert.refresh_from_db()
    # The cut-off try was never answered, so never recorded; the second carried the same webhook-id.
    assert ids == [f"alert_{alert.pk}"] * 2
    assert alert.attempt_count == 1 and alert.answer == "HTTP 200: ok"
    Webhook(created.secret).verify(webhook.received[1].body, webhook.received[1].headers)
