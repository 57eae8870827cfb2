"""History that stays fast: the app page, the stats API and the apps list cost the same for an app
with 100,000 deliveries as for one with 1,000 (docs/performance.md).

Two apps, each in its own organization, get their deliveries bulk-inserted (creation times
spread over 30 days, mixed statuses) and their rollups filled from grouped counts, as
`delivery.outbox.state` would have kept them. Each page is timed in process (server time:
middleware, queries, rendering) as the median of several requests.

Sizes are parameters, so CI can run it smaller: BENCH_DELIVERIES (the large app, default
100000), BENCH_SMALL_DELIVERIES (default 1000), BENCH_REQUESTS (per figure, default 15).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from delivery.bulk_insert import rows_insert
from delivery.history.rollups import RollupKey, rollup_key, rollups_adjust
from delivery.models import AppSendingState, Delivery, TrackedEvent
from mappings.models import App
from tests.factories import AppFactory, MappingFactory, MembershipFactory
from trackerui.accounts.models import Organization
from trackerui.accounts.services import api_key_create

LARGE = int(os.environ.get("BENCH_DELIVERIES", "100000"))
SMALL = int(os.environ.get("BENCH_SMALL_DELIVERIES", "1000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "15"))
SPREAD = timedelta(days=30)
CEILING_MS = 300.0
Status = Delivery.Status
# Most deliveries end delivered; the newest ones are still on their way.
STATUS_CYCLE = [Status.DELIVERED] * 14 + [Status.FAILED, Status.SUPPRESSED, Status.BLOCKED, Status.FAILED]
_EVENT_FIELDS = ("event_id", "name", "timestamp", "platform", "identifiers", "device", "properties", "sdk_version",
                 "limit_ad_tracking", "received_at")
_DELIVERY_FIELDS = ("event", "event_field", "device", "item", "status", "next_attempt_at", "created_at")


def _status(index: int, created_at: datetime, now: datetime) -> str:
    if now - created_at < timedelta(hours=1):
        return (Status.PENDING, Status.RETRYING)[index % 2]
    return STATUS_CYCLE[index % len(STATUS_CYCLE)]


def app_with_deliveries(organization: Organization, count: int) -> App:
    """An app with `count` deliveries created over the last 30 days, and rollups that count them."""
    app = AppFactory(organization=organization, s2s_confirmed=True)
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    now = timezone.now()
    step = SPREAD / count
    times = [now - step * index for index in range(count)]
    events = [
        (f"bench-{index}", "level_up", int(at.timestamp()), "iOS 17.4", {"ifa": f"{index:032X}"}, f"{index:032x}",
         {"level": index % 50 + 1}, "", False, at)
        for index, at in enumerate(times)
    ]
    event_ids = rows_insert(TrackedEvent, events, fields=_EVENT_FIELDS, same={"app": app.pk})
    rollups: Counter[RollupKey] = Counter()
    deliveries = []
    for index, (event_id, at) in enumerate(zip(event_ids, times, strict=True)):
        status, event_field = _status(index, at, now), index % 5 + 1
        item = {"event_label": "level_up", "event_field": event_field, "main_level": index % 50 + 1,
                "sub_level": 0, "description": "level_up", "data_type": "level_info"}
        due = at if status in Delivery.SENDABLE else None
        deliveries.append((event_id, event_field, f"{index:032x}", item, status, due, at))
        rollups[rollup_key(app.pk, at, event_field, status)] += 1
    rows_insert(Delivery, deliveries, fields=_DELIVERY_FIELDS, same={"app": app.pk})
    rollups_adjust(rollups)
    AppSendingState.objects.create(app=app, due_at=now, last_delivered_at=now - timedelta(minutes=5))
    return app


def median_ms(get: Callable[[], int]) -> float:
    """The median server time of REQUESTS requests, after one to warm caches."""
    assert get() == 200
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        assert get() == 200
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def figures(app: App) -> dict[str, float]:
    organization = app.organization
    member = MembershipFactory(organization=organization).user
    browser = Client()
    browser.force_login(member)
    _, key = api_key_create(organization=organization, name="bench")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return {
        "app page": median_ms(lambda: browser.get(f"/apps/{app.pk}/").status_code),
        "stats API": median_ms(lambda: api.get(f"/api/v1/apps/{app.pk}/stats/?days=30").status_code),
        "apps list": median_ms(lambda: browser.get("/apps/").status_code),
    }


@pytest.mark.django_db
def test_history_pages_cost_the_same_for_100k_deliveries_as_for_1k() -> None:
    started = time.perf_counter()
    small = app_with_deliveries(Organization.objects.create(name="Small", slug="small"), SMALL)
    large = app_with_deliveries(Organization.objects.create(name="Large", slug="large"), LARGE)
    built = time.perf_counter() - started
    assert Delivery.objects.filter(app=large).count() == LARGE

    small_ms, large_ms = figures(small), figures(large)

    print(f"\nhistory pages (built {SMALL:,} + {LARGE:,} deliveries in {built:.1f} s; "
          f"median of {REQUESTS} requests, server time):")
    for name in small_ms:
        print(f"  {name:<10} {SMALL:>9,}: {small_ms[name]:7.1f} ms   {LARGE:>9,}: {large_ms[name]:7.1f} ms   "
              f"ratio {large_ms[name] / small_ms[name]:.2f}")
    for name in small_ms:
        assert large_ms[name] <= 2 * small_ms[name], name
        assert large_ms[name] < CEILING_MS, name
