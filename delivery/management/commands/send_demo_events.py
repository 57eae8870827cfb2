"""`manage.py send_demo_events`: feed a few made-up events through ingestion, as a studio would.

`make run` calls it after `seed_demo`, so the dashboard shows deliveries going through the
worker to the local sandbox. It refuses to run against anything but a loopback endpoint
unless told to, so it cannot send made-up players to the real Chartboost by accident.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.ingest.service import OUTCOMES, events_ingest
from delivery.models import Delivery
from delivery.outbox.trial_event import TEST_DEVICE_OS
from mappings.models import App, Mapping, Platform
from mappings.selectors import active_mappings_by_event_name
from trackerui.accounts.models import Organization

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
PLACES = ["Chocolate Fudge", "Lunar Caverns", "Crystal Cove", "Sunken Temple", "Sky Garden"]
CLASSES = ["Apprentice", "Adept", "Master Wizard", "Archmage", "Grand Sorcerer"]


def demo_identifiers(platform: str) -> dict[str, str]:
    if platform == Platform.IOS:
        return {"ifa": str(uuid.uuid4()).upper()}
    return {"gaid": str(uuid.uuid4()), "uuid": uuid.uuid4().hex[:16]}


def demo_properties(mappings: list[Mapping], step: int) -> dict[str, Any]:
    """Values for every property the mappings read; levels rise with each step, as players progress."""
    properties: dict[str, Any] = {}
    for mapping in mappings:
        if mapping.main_level_property:
            properties[mapping.main_level_property] = step + 1
        if mapping.sub_level_property:
            properties[mapping.sub_level_property] = step % 3
        if mapping.description_property:
            names = CLASSES if "class" in mapping.description_property else PLACES
            properties[mapping.description_property] = names[step % len(names)]
    return properties


def demo_events(app: App, rounds: int) -> list[dict[str, Any]]:
    identifiers = demo_identifiers(app.platform)
    now = int(time.time())
    events = []
    for step in range(rounds):
        for name, mappings in active_mappings_by_event_name(app).items():
            events.append({
                "event_id": f"demo-{uuid.uuid4().hex[:16]}",
                "name": name,
                "timestamp": now - (rounds - step) * 60,
                "platform": TEST_DEVICE_OS[app.platform],
                "identifiers": identifiers,
                "properties": demo_properties(mappings, step),
                "sdk_version": "demo-1.0",
            })
    return events


class Command(BaseCommand):
    help = "Send a few demo events for every app of an organization through ingestion (local sandbox only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo", help="Organization slug (default: demo).")
        parser.add_argument("--rounds", type=int, default=3, help="Events per mapped event name (default: 3).")
        parser.add_argument("--wait", type=float, default=0,
                            help="Seconds to wait for the worker to deliver them, printing how it went.")
        parser.add_argument("--force", action="store_true",
                            help="Send even though CHARTBOOST_ENDPOINT is not on this machine.")

    def handle(self, *args: Any, **options: Any) -> None:
        host = urlsplit(settings.CHARTBOOST_ENDPOINT).hostname
        if host not in LOOPBACK_HOSTS and not options["force"]:
            raise CommandError(
                f"CHARTBOOST_ENDPOINT points at {host}, not this machine: demo events would reach a real "
                "Chartboost. Run the sandbox (manage.py chartboost_sandbox) or pass --force."
            )
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}. Run `manage.py seed_demo` first.")
        delivery_ids: list[int] = []
        for app in App.objects.filter(organization=organization):
            answer = events_ingest(app=app, events=demo_events(app, options["rounds"]))
            delivery_ids += [d["id"] for result in answer["results"] for d in result.get("deliveries", [])]
            counts = ", ".join(f"{answer[outcome]} {outcome}" for outcome in OUTCOMES)
            self.stdout.write(f"{app.name}: sent {len(answer['results'])} demo events ({counts}).")
        if options["wait"] and delivery_ids:
            self._report(delivery_ids, options["wait"])

    def _report(self, delivery_ids: list[int], wait: float) -> None:
        deliveries = Delivery.objects.filter(pk__in=delivery_ids)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and deliveries.filter(status__in=Delivery.SENDABLE).exists():
            time.sleep(0.25)
        statuses = Counter(deliveries.values_list("status", flat=True))
        summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        self.stdout.write(f"Demo deliveries: {summary}.")
