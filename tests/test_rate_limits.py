"""The one counter every rate limit counts on (trackerui/foundation/rate_limits.py): fixed windows, atomic."""

from __future__ import annotations

import uuid

import pytest

from trackerui.foundation.rate_limits import Rate, rate_limit_hit

MINUTE_START = 1_800_000_000 - 1_800_000_000 % 60


def _name() -> str:
    # Fresh names: with REDIS_URL the counters outlive the test's database transaction.
    return f"test:{uuid.uuid4().hex}"


def test_a_rate_reads_as_the_settings_write_it() -> None:
    assert Rate.parse("1200/min") == Rate(limit=1200, window_seconds=60)
    assert Rate.parse("600/second") == Rate(limit=600, window_seconds=1)
    assert Rate.parse("5/hour") == Rate(limit=5, window_seconds=3600)
    assert Rate.parse("1000/day") == Rate(limit=1000, window_seconds=86400)


@pytest.mark.django_db
def test_it_lets_the_limit_through_in_a_window_and_says_when_the_window_ends() -> None:
    rate = Rate(limit=3, window_seconds=60)
    name = _name()
    hits = [rate_limit_hit(name, rate, now=MINUTE_START + 10) for _ in range(4)]
    assert [hit.allowed for hit in hits] == [True, True, True, False]
    assert [hit.remaining for hit in hits] == [2, 1, 0, 0]
    assert hits[-1].retry_after == 50


@pytest.mark.django_db
def test_the_next_window_starts_again_from_one() -> None:
    rate = Rate(limit=1, window_seconds=60)
    name = _name()
    assert rate_limit_hit(name, rate, now=MINUTE_START + 59).allowed
    assert not rate_limit_hit(name, rate, now=MINUTE_START + 59.5).allowed
    assert rate_limit_hit(name, rate, now=MINUTE_START + 60).count == 1


@pytest.mark.django_db
def test_each_name_counts_apart() -> None:
    rate = Rate(limit=1, window_seconds=60)
    assert rate_limit_hit(_name(), rate, now=MINUTE_START).allowed
    assert rate_limit_hit(_name(), rate, now=MINUTE_START).allowed
