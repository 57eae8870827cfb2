"""The project's own tables: the rate-limit counters of the database cache."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """How many hits one limit has counted in its current fixed window (trackerui/foundation/rate_limits.py).

    Used only when the cache is the database: Django's DatabaseCache.incr reads, adds and writes
    back, so two processes may both count 5 as 6. This table is counted with one
    `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which the database runs atomically.
    """

    name = models.CharField(max_length=200, primary_key=True)
    # Unix seconds: when the counted window started, and when the row may be pruned.
    window_start = models.BigIntegerField()
    expires_at = models.BigIntegerField(db_index=True)
    hits = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.hits} since {self.window_start}"
