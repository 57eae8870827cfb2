"""`manage.py prune_deliveries [--older-than DURATION]`: run the daily prune once, now.

DURATION is written as for RETRY_MAX_AGE (`90`, `90s`, `30m`, `72h`, `3d`), and `0s`
prunes every finished delivery. Tracked events (the keys that answer `duplicate`) go only
once their own timestamp is older than DELIVERY_RETENTION_DAYS, whatever DURATION says.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.history.retention import deliveries_prune, retention_seconds
from trackerui.foundation.durations import duration_seconds


class Command(BaseCommand):
    help = "Delete finished deliveries, their attempts and spent tracked events older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="DURATION",
            help="Prune finished deliveries created longer ago than this (90, 90s, 30m, 72h, 3d; 0s for all). "
            "Default: DELIVERY_RETENTION_DAYS days.",
        )

    def handle(self, *args: Any, older_than: str | None, **options: Any) -> None:
        if older_than is None:
            seconds = retention_seconds()
        else:
            try:
                seconds = duration_seconds(older_than, allow_zero=True)
            except ValueError as error:
                raise CommandError(f"--older-than={older_than!r} {error}") from None
        result = deliveries_prune(older_than_seconds=seconds)
        self.stdout.write(
            f"Pruned {result.deliveries} deliveries, {result.attempts} attempts and {result.tracked_events} "
            f"tracked events (tracked events older than {settings.DELIVERY_RETENTION_DAYS} days only)."
        )
