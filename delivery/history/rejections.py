"""Rejected events, counted per (app, UTC hour, reason code) with a recent example (`RejectionRollup`).

Rejected events are not stored, so these counts are all that is left of them. Ingest
notes each rejection in a `RejectionTally` and writes the batch's tally with one upsert
(`rejections_count`), inside the batch's transaction. `rejections_summary` reads them
back for the last 24 hours and the last 7 days.

Examples are kept small and identify nobody: identifiers keep only their last four
characters, properties keep at most a few short top-level values, and only the fields
of an event are copied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from delivery.bulk_insert import rows_add
from delivery.history.rollups import hour_of
from delivery.models import AcceptedEventRollup, RejectionRollup
from delivery.text import text_cut_keeping_fix
from mappings.models import App

REASON_MAX_LENGTH = RejectionRollup._meta.get_field("reason").max_length
# What an example keeps of an event: enough to recognise the mistake, never a whole payload.
EXAMPLE_FIELDS = ("event_id", "name", "timestamp", "platform", "sdk_version", "limit_ad_tracking")
EXAMPLE_STRING_LENGTH = 100
EXAMPLE_MESSAGE_LENGTH = 700
EXAMPLE_PROPERTIES = 10
EXAMPLE_ERROR_MESSAGES = 3
IDENTIFIER_KEPT = 4
SUMMARY_WINDOWS = {"last_24h": timedelta(hours=24), "last_7d": timedelta(days=7)}
# Neither PostgreSQL's jsonb nor UTF-8 can hold NUL or lone surrogates, and a reason code is
# no place for control characters: the event may have been rejected for carrying them.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def rejection_reason(errors: dict[str, list[str]]) -> str:
    """A stable code for why an event was rejected: its first error's field, e.g. `timestamp`,
    `identifiers.ifa` or `properties.level` (`non_field_errors` when it was not an object)."""
    first = next(iter(errors), "non_field_errors")
    return _storable(first)[:REASON_MAX_LENGTH] or "non_field_errors"


def rejection_example(errors: dict[str, list[str]], event: Any) -> dict[str, Any]:
    """The errors and a small, masked copy of the event they were found in."""
    return {
        "errors": {
            _short(key): [_message_kept(message) for message in messages[:EXAMPLE_ERROR_MESSAGES]]
            for key, messages in errors.items()
        },
        "event": _masked_event(event),
    }


def identifier_masked(value: Any) -> str:
    """Only the last four characters of an identifier, e.g. `…DFC6`: enough to tell devices apart
    in a support conversation, not enough to track one."""
    return f"…{_storable(value)[-IDENTIFIER_KEPT:]}" if isinstance(value, str) else "…"


def _masked_event(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        return {}
    masked: dict[str, Any] = {key: _scalar(event[key]) for key in EXAMPLE_FIELDS if key in event}
    identifiers = event.get("identifiers")
    if isinstance(identifiers, dict):
        masked["identifiers"] = {_short(key): identifier_masked(value) for key, value in identifiers.items()}
    properties = event.get("properties")
    if isinstance(properties, dict):
        kept = list(properties.items())[:EXAMPLE_PROPERTIES]
        masked["properties"] = {_short(key): _scalar(value) for key, value in kept}
    return masked


def _scalar(value: Any) -> Any:
    """A short string, a number, a boolean or null as it is; anything nested as "…"."""
    if isinstance(value, str):
        return _short(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return "…"


def _short(text: Any) -> str:
    text = _storable(str(text))
    return text if len(text) <= EXAMPLE_STRING_LENGTH else text[:EXAMPLE_STRING_LENGTH - 1] + "…"


def _message_kept(message: Any) -> str:
    """Our own message: whole unless it quotes something huge, and then cut in its middle, so the
    part that says what to do ("(it is missing)") stays."""
    return text_cut_keeping_fix(_storable(str(message)), EXAMPLE_MESSAGE_LENGTH)


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("?", text)


@dataclass
class RejectionTally:
    """A batch's rejections per reason code: how many, and the latest example."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, errors: dict[str, list[str]], event: Any) -> None:
        reason = rejection_reason(errors)
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.examples[reason] = rejection_example(errors, event)

    def __bool__(self) -> bool:
        return bool(self.counts)


def rejections_count(*, app: App, tally: RejectionTally, now: datetime) -> None:
    """Add a batch's rejections to the app's rows for this hour. Run it inside the batch's transaction.

    One upsert per batch, in reason order (so concurrent batches lock rows in the same order
    on PostgreSQL), through `delivery.bulk_insert.rows_add` because the count must be added to;
    the latest example wins, unless a concurrent batch with a later clock wrote first.
    """
    hour = hour_of(now)
    newer = "EXCLUDED.{last_seen_at} >= {table}.{last_seen_at}"
    rows_add(
        RejectionRollup,
        [(app.pk, hour, reason, tally.counts[reason], tally.examples[reason], now) for reason in sorted(tally.counts)],
        fields=("app", "hour", "reason", "count", "example", "last_seen_at"),
        key=("app", "hour", "reason"),
        add="count",
        also=(
            f"{{example}} = CASE WHEN {newer} THEN EXCLUDED.{{example}} ELSE {{table}}.{{example}} END",
            f"{{last_seen_at}} = CASE WHEN {newer} THEN EXCLUDED.{{last_seen_at}} ELSE {{table}}.{{last_seen_at}} END",
        ),
    )


def accepted_count(*, app: App, accepted: int, now: datetime) -> None:
    """Add a batch's accepted events to the app's row for this hour, inside the batch's transaction:
    what the rejections are a share of (`events_received_last_24h`)."""
    if accepted:
        rows_add(AcceptedEventRollup, [(app.pk, hour_of(now), accepted)], fields=("app", "hour", "count"),
                 key=("app", "hour"), add="count")


@dataclass(frozen=True)
class EventsReceived:
    """An app's events of the last 24 h (the summary's hour-aligned window): accepted and rejected."""

    accepted: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    @property
    def rejected_share(self) -> float | None:
        """The share of the events received that were rejected, None when none were received."""
        return self.rejected / self.total if self.total else None


def events_received_last_24h(app_ids: list[int]) -> dict[int, EventsReceived]:
    """Per app, its events accepted and rejected in the last 24 h, in two grouped queries for any number
    of apps, from the hour rollups."""
    start = hour_of(timezone.now() - SUMMARY_WINDOWS["last_24h"])
    totals: dict[int, dict[str, int]] = {app_id: {} for app_id in app_ids}
    for name, model in (("accepted", AcceptedEventRollup), ("rejected", RejectionRollup)):
        rows = (model.objects.filter(app_id__in=app_ids, hour__gte=start, count__gt=0).values("app_id")
                .annotate(total=Sum("count")).order_by().values_list("app_id", "total"))
        for app_id, total in rows:
            totals[app_id][name] = total
    return {app_id: EventsReceived(**counts) for app_id, counts in totals.items()}


@dataclass(frozen=True)
class RejectionReason:
    """How many events were rejected for one reason in a window, and the latest example."""

    reason: str
    count: int
    last_seen_at: datetime
    example: dict[str, Any]


@dataclass(frozen=True)
class RejectionsSummary:
    last_24h: list[RejectionReason]
    last_7d: list[RejectionReason]

    def rows(self) -> list[tuple[RejectionReason, int]]:
        """Each reason of the 7 days (with its latest example) beside its count in the last 24 h."""
        recent = {reason.reason: reason.count for reason in self.last_24h}
        return [(reason, recent.get(reason.reason, 0)) for reason in self.last_7d]

    @property
    def last_24h_total(self) -> int:
        """How many events were rejected in the last 24 h, all reasons together."""
        return sum(reason.count for reason in self.last_24h)


def rejections_summary(app: App) -> RejectionsSummary:
    """The app's rejections per reason over the last 24 hours and the last 7 days, most frequent first.

    Both windows are hour-aligned (from the top of the hour 24 h or 7 days ago), like the
    rollups. One query of at most 169 hours x the reasons seen, however many events.
    """
    now = timezone.now()
    starts = {name: hour_of(now - length) for name, length in SUMMARY_WINDOWS.items()}
    rows = RejectionRollup.objects.filter(app=app, hour__gte=min(starts.values()), count__gt=0).values_list(
        "hour", "reason", "count", "example", "last_seen_at"
    )
    windows: dict[str, dict[str, RejectionReason]] = {name: {} for name in SUMMARY_WINDOWS}
    for hour, reason, count, example, last_seen_at in rows:
        for name, start in starts.items():
            if hour >= start:
                windows[name][reason] = _merged(windows[name].get(reason), reason, count, example, last_seen_at)
    ranked = {
        name: sorted(reasons.values(), key=lambda r: (-r.count, r.reason)) for name, reasons in windows.items()
    }
    return RejectionsSummary(last_24h=ranked["last_24h"], last_7d=ranked["last_7d"])


def _merged(
    known: RejectionReason | None, reason: str, count: int, example: dict[str, Any], last_seen_at: datetime
) -> RejectionReason:
    if known is None:
        return RejectionReason(reason, count, last_seen_at, example)
    latest = known if known.last_seen_at >= last_seen_at else RejectionReason(reason, 0, last_seen_at, example)
    return RejectionReason(reason, known.count + count, latest.last_seen_at, latest.example)
