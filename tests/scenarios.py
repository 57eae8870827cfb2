"""Long scenarios with a real `qcluster` and a sandbox on 127.0.0.1, sized by their parameters.

The suite runs them scaled down (tests/test_outage.py); `make bench` runs them at full
size (benchmarks/test_outage.py). Nothing here is faked: events go in through the ingest
service, a real worker sends them, and the sandbox counts what reached "Chartboost".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from delivery.alerts.messages import TITLES
from delivery.ingest.service import events_ingest
from delivery.models import Delivery
from delivery.sandbox import ChartboostSandbox
from mappings.models import App
from mappings.services import mapping_create
from tests.alert_receiver import AlertReceiver
from tests.factories import AppFactory
from tests.live_receiver import QCluster, wait_until
from trackerui.accounts.models import Organization


@dataclass(frozen=True)
class OutageResult:
    failing_requests_during_outage: int
    healthy_delivered_during_outage: int
    drained_after_seconds: float | None

    def __str__(self) -> str:
        drained = "never" if self.drained_after_seconds is None else f"{self.drained_after_seconds:.1f} s"
        return (f"failing app: {self.failing_requests_during_outage} requests during the outage, backlog drained "
                f"{drained} after it ended; healthy app: {self.healthy_delivered_during_outage} delivered during it")


def _ingest(app: App, count: int, prefix: str) -> None:
    now = int(time.time()) - 10
    events = [
        {"event_id": f"{prefix}-{n}", "name": "level_complete", "timestamp": now, "platform": "iOS 17.4",
         "identifiers": {"ifa": f"{n + 1:032x}"}}
        for n in range(count)
    ]
    for start in range(0, count, 50):
        events_ingest(app=app, events=events[start:start + 50])


def outage_run(
    *, log_dir: Path, outage_seconds: float, first_probe_seconds: float, max_probe_seconds: float,
    deliveries: int = 200, drain_timeout: float = 150,
) -> OutageResult:
    """One app's Chartboost answers {"status": 500} for `outage_seconds` while another's stays healthy.

    Both apps' events are ingested just after the outage begins, in batches of 50, as a
    game backend would send them.
    """
    failing, healthy = AppFactory(), AppFactory()
    for app in (failing, healthy):
        mapping_create(app=app, event_name="level_complete", event_field=5)
    env = {"CIRCUIT_FIRST_PROBE_SECONDS": str(first_probe_seconds), "CIRCUIT_MAX_PROBE_SECONDS": str(max_probe_seconds)}
    with ChartboostSandbox("127.0.0.1", 0) as sandbox:
        settings.CHARTBOOST_ENDPOINT = sandbox.url
        with QCluster(log_dir / "qcluster.log", CHARTBOOST_ENDPOINT=sandbox.url, **env):
            time.sleep(3)  # let the cluster start before the clock runs
            sandbox.outage(failing.chartboost_app_id, outage_seconds)
            outage_ends = time.monotonic() + outage_seconds
            _ingest(failing, deliveries, "failing")
            _ingest(healthy, deliveries, "healthy")
            healthy_delivered = Delivery.objects.filter(app=healthy, status="delivered")
            wait_until(lambda: healthy_delivered.count() == deliveries,
                       timeout=max(0.0, outage_ends - time.monotonic()))
            healthy_during = healthy_delivered.count()
            time.sleep(max(0.0, outage_ends - time.monotonic()))
            during = sum(1 for received in sandbox.received
                         if received.header("X-Chartboost-App") == failing.chartboost_app_id
                         and received.arrived_at < outage_ends)
            failing_delivered = Delivery.objects.filter(app=failing, status="delivered")
            drained = wait_until(lambda: failing_delivered.count() == deliveries, timeout=drain_timeout, interval=0.2)
            drained_after = time.monotonic() - outage_ends if drained else None
    return OutageResult(during, healthy_during, drained_after)


@dataclass(frozen=True)
class AlertOutageResult:
    """Seconds from the outage's start to the `circuit_open` alert, and from its end to `recovered`, per channel."""

    alerted_after: dict[str, float | None]
    recovered_after: dict[str, float | None]

    def __str__(self) -> str:
        def shown(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f} s"
        return "; ".join(f"{kind}: alert {shown(self.alerted_after[kind])} after the start, recovered "
                         f"{shown(self.recovered_after[kind])} after the end" for kind in self.alerted_after)


def _mails_saying(mail_dir: Path, words: str) -> bool:
    return any(words in path.read_text(errors="replace") for path in mail_dir.glob("*.log"))


def alert_outage_run(
    *, log_dir: Path, organization: Organization, webhook: AlertReceiver, slack: AlertReceiver,
    outage_seconds: float, evaluate_seconds: float, max_probe_seconds: float, timeout: float,
    first_probe_seconds: float = 0.25,
) -> AlertOutageResult:
    """One app's Chartboost answers status 500 for `outage_seconds`, with a real `qcluster` evaluating alert
    conditions every `evaluate_seconds`; a webhook, a Slack receiver and e-mail files catch what it sends.

    The organization's channels must already point at `webhook`, `slack` and an e-mail address.
    """
    app = AppFactory(organization=organization)
    mapping_create(app=app, event_name="level_complete", event_field=5)
    mail_dir = log_dir / "mail"
    mail_dir.mkdir()
    env = {"CIRCUIT_FIRST_PROBE_SECONDS": str(first_probe_seconds), "CIRCUIT_MAX_PROBE_SECONDS": str(max_probe_seconds),
           "ALERT_EVALUATE_SECONDS": str(evaluate_seconds), "DEBUG": "true",
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
    arrived: dict[str, dict[str, float | None]] = {"alert": {}, "recovered": {}}
    checks = {
        "webhook": lambda kind: bool(webhook.wait_for(lambda r: r.json()["type"] == kind, timeout=0)),
        "slack": lambda kind: bool(slack.wait_for(lambda r: f"*{TITLES[kind]}*" in r.json()["text"], timeout=0)),
        "email": lambda kind: _mails_saying(mail_dir, f"Subject: [CB Tracker] {TITLES[kind]}"),
    }

    def wait_all(kind: str, key: str, since: float) -> None:
        def seen() -> bool:
            for channel, check in checks.items():
                if channel not in arrived[key] and check(kind):
                    arrived[key][channel] = time.monotonic() - since
            return len(arrived[key]) == len(checks)
        wait_until(seen, timeout=timeout, interval=0.1)

    with ChartboostSandbox("127.0.0.1", 0) as sandbox:
        settings.CHARTBOOST_ENDPOINT = sandbox.url
        with QCluster(log_dir / "qcluster.log", CHARTBOOST_ENDPOINT=sandbox.url, **env):
            time.sleep(3)  # let the cluster start before the clock runs
            sandbox.outage(app.chartboost_app_id, outage_seconds)
            started = time.monotonic()
            _ingest(app, 30, "alerted")
            wait_all("circuit_open", "alert", started)
            time.sleep(max(0.0, started + outage_seconds - time.monotonic()))
            wait_all("recovered", "recovered", started + outage_seconds)
    return AlertOutageResult(
        {channel: arrived["alert"].get(channel) for channel in checks},
        {channel: arrived["recovered"].get(channel) for channel in checks},
    )
