"""Every rate limit's one counter: fixed windows, counted atomically where every web process counts.

The API keys, ingestion, test events, sign-ins and password-reset mails all count here, so any
number of web processes on any number of hosts together let through at most the limit. A
window is fixed (it starts on a multiple of its length, e.g. each whole minute), so across a
window's edge a client may get up to twice the limit in one window's length; it never gets
more than the limit within one window.

Where the count lives follows the cache (trackerui/settings.py): with Redis, in Redis, whose
INCR is atomic; with the database cache, in the RateCounter table, because Django's
DatabaseCache.incr reads, adds and writes back, and two processes can both turn 5 into 6.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection

from trackerui.models import RateCounter

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The database's counters of finished windows are pruned by one new window's first hit in this many.
PRUNE_ONE_IN = 200


@dataclass(frozen=True)
class Rate:
    """At most `limit` hits per `window_seconds`."""

    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """A rate as the settings write it: 1200/min, 600/second, 5/hour, 1000/day."""
        count, _, period = text.strip().partition("/")
        return cls(limit=int(count), window_seconds=PERIOD_SECONDS[period.strip()[:1].lower()])


@dataclass(frozen=True)
class Hit:
    """One counted hit: how many the window has counted with it, and when the window ends."""

    count: int
    limit: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def rate_limit_hit(name: str, rate: Rate, *, now: float | None = None) -> Hit:
    """Count one hit under `name` in its current window, atomically, and say whether it is within the rate."""
    now = time.time() if now is None else now
    window_start = int(now // rate.window_seconds) * rate.window_seconds
    if isinstance(caches["default"], DatabaseCache):
        count, window_start = _database_count(name, window_start, rate.window_seconds, now)
    else:
        count = _cache_count(name, window_start, rate.window_seconds)
    retry_after = max(1, math.ceil(window_start + rate.window_seconds - now))
    return Hit(count=count, limit=rate.limit, retry_after=retry_after)


def _cache_count(name: str, window_start: int, window_seconds: int) -> int:
    """Redis: `add` creates the window's key with its expiry, INCR counts atomically."""
    cache = caches["default"]
    key = f"rate:{name}:{window_start}"
    # Twice the window, so a host whose clock is a little behind still finds the key it counts into.
    timeout = 2 * window_seconds
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # Expired or evicted between add and incr: create it again and count.
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def _database_count(name: str, window_start: int, window_seconds: int, now: float) -> tuple[int, int]:
    """One statement counts and answers: a newer window starts at 1, the current one adds 1.

    A row whose window is newer than ours (a host whose clock runs ahead wrote it) is counted
    into, never turned back. SQLite (3.35 or later) and PostgreSQL both run this.
    """
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    newer = f"excluded.window_start > {table}.window_start"
    sql = (
        f"INSERT INTO {table} (name, window_start, expires_at, hits) VALUES (%s, %s, %s, 1) "
        f"ON CONFLICT (name) DO UPDATE SET "
        f"hits = CASE WHEN {newer} THEN 1 ELSE {table}.hits + 1 END, "
        f"window_start = CASE WHEN {newer} THEN excluded.window_start ELSE {table}.window_start END, "
        f"expires_at = CASE WHEN {newer} THEN excluded.expires_at ELSE {table}.expires_at END "
        f"RETURNING hits, window_start"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [name, window_start, window_start + window_seconds])
        count, counted_window_start = cursor.fetchone()
    if count == 1 and random.randrange(PRUNE_ONE_IN) == 0:
        RateCounter.objects.filter(expires_at__lt=int(now)).delete()
    return count, counted_window_start
