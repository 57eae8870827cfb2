"""What each mapping sends for one event, and the sequential rule.

`event_items` reads main_level, sub_level and description from an event's properties
as its mappings say. `device_levels_claim` keeps, per (app, device, sequential Event
ID), the highest (main_level, sub_level) accepted so far, and decides which new
values are above it: Chartboost discards equal or lower values of fields 1, 3 and 4,
so we do not send them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from delivery.bulk_insert import max_query_params, rows_insert, rows_update
from delivery.ingest.schema import device_digest
from delivery.items import EventRejected, track_item
from delivery.models import DeviceLevel
from mappings.event_fields import SEQUENTIAL_FIELDS
from mappings.models import Mapping


def event_items(mappings: list[Mapping], properties: dict[str, Any]) -> list[tuple[Mapping, dict[str, Any]]]:
    """The `track_info` item of each mapping, in the mappings' order.

    Raises EventRejected naming every property that a mapping needs and the event
    lacks (or carries in a form Chartboost cannot take), with the mapping's Event ID.
    """
    items: list[tuple[Mapping, dict[str, Any]]] = []
    errors: dict[str, list[str]] = {}
    for mapping in mappings:
        try:
            items.append((mapping, track_item(mapping, properties)))
        except EventRejected as rejected:
            for field, messages in rejected.errors.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise EventRejected(errors)
    return items


@dataclass(slots=True)
class LevelClaim:
    """A delivery of a sequential Event ID that wants to be sent: is its level above the device's?"""

    device: str
    event_field: int
    main_level: int
    sub_level: int
    passed: bool = False
    # The highest level it was compared against, when it did not pass.
    highest: tuple[int, int] | None = None

    @property
    def level(self) -> tuple[int, int]:
        return (self.main_level, self.sub_level)

    @property
    def key(self) -> tuple[str, int]:
        return (self.device, self.event_field)

    @property
    def reason(self) -> str:
        """Why it was not sent, in the words the delivery page and API show."""
        if self.passed or self.highest is None:
            return ""
        return (f"Not sent: level {_level_text(*self.level)} is not above level {_level_text(*self.highest)}, "
                "already sent for this device")


def _level_text(main_level: int, sub_level: int) -> str:
    """A level as people write it: `7`, or `7.2` when it has a sub-level."""
    return f"{main_level}.{sub_level}" if sub_level else f"{main_level}"


def device_levels_claim(*, app_id: int, claims: list[LevelClaim]) -> None:
    """Decide, in order, which claims are above their device's highest level, and raise it.

    Must run inside a transaction. The batch is decided in memory from one read of the
    current levels, then written with one compare-and-set UPDATE (a row only if its level is
    still the one read) and one INSERT of new rows guarded by the unique constraint: the same
    few queries for a batch of returning devices as for new ones.
    When a concurrent ingest got there first, that device's claims are decided again
    one by one, each with a conditional UPDATE; so two equal values can never both
    pass, on SQLite or PostgreSQL.
    """
    for claim in claims:
        if claim.event_field not in SEQUENTIAL_FIELDS or not claim.device:
            raise ValueError(f"Only sequential Event IDs of an identified device have levels: {claim}.")
    by_key: dict[tuple[str, int], list[LevelClaim]] = {}
    for claim in claims:
        by_key.setdefault(claim.key, []).append(claim)
    known = _levels_read(app_id, by_key)
    now = timezone.now()
    new_rows: list[tuple[str, str, int, int, int]] = []
    raised: list[tuple[int, int, int, int, int, datetime]] = []
    for key, group in by_key.items():
        before = known.get(key)
        highest = claims_decide(group, before[1] if before else None)
        if before is None:
            if highest is not None:
                new_rows.append((key[0], device_digest(key[0]), key[1], *highest))
        elif highest != before[1]:
            pk, (main_level, sub_level) = before
            raised.append((pk, main_level, sub_level, *highest, now))
    if raised:
        # One compare-and-set UPDATE for all: a row is raised only if it still holds the level read.
        changed = set(rows_update(DeviceLevel, raised, expect=("main_level", "sub_level"),
                                  fields=("main_level", "sub_level", "updated_at")))
        keys = {known_pk: key for key, (known_pk, _) in known.items()}
        for pk, *_ in raised:
            if pk not in changed:
                _decide_one_by_one(app_id, by_key[keys[pk]])
    if new_rows:
        try:
            with transaction.atomic():
                rows_insert(DeviceLevel, new_rows,
                            fields=("device", "device_sha256", "event_field", "main_level", "sub_level"),
                            same={"app": app_id, "updated_at": now})
        except IntegrityError:
            for device, _, event_field, _, _ in new_rows:
                _decide_one_by_one(app_id, by_key[(device, event_field)])


def _levels_read(
    app_id: int, by_key: dict[tuple[str, int], list[LevelClaim]]
) -> dict[tuple[str, int], tuple[int, tuple[int, int]]]:
    """The stored (pk, (main_level, sub_level)) of each key that has one."""
    devices = sorted({device for device, _ in by_key})
    fields = sorted({field for _, field in by_key})
    known: dict[tuple[str, int], tuple[int, tuple[int, int]]] = {}
    # The app id and the fields take the other parameters of each query.
    per_query = max_query_params() - 1 - len(fields)
    for start in range(0, len(devices), per_query):
        rows = DeviceLevel.objects.filter(
            app_id=app_id, device__in=devices[start:start + per_query], event_field__in=fields
        ).values_list("pk", "device", "event_field", "main_level", "sub_level")
        for pk, device, field, main_level, sub_level in rows:
            known[(device, field)] = (pk, (main_level, sub_level))
    return known


def claims_decide(group: list[LevelClaim], highest: tuple[int, int] | None) -> tuple[int, int] | None:
    """Mark each claim of one device and field, in order, against `highest`; return the new highest level.

    The rule itself, without the database: `device_levels_claim` stores what it decides, and
    `delivery/ingest/simulate.py` keeps its high-water marks in memory.
    """
    for claim in group:
        if highest is None or claim.level > highest:
            claim.passed, claim.highest = True, None
            highest = claim.level
        else:
            claim.passed, claim.highest = False, highest
    return highest


def _decide_one_by_one(app_id: int, group: list[LevelClaim]) -> None:
    for claim in group:
        _claim_one(app_id, claim)


def _claim_one(app_id: int, claim: LevelClaim) -> None:
    """The conditional UPDATE, with an INSERT (in a savepoint) when the device has no level yet."""
    row = DeviceLevel.objects.filter(app_id=app_id, device=claim.device, event_field=claim.event_field)
    below = Q(main_level__lt=claim.main_level) | Q(main_level=claim.main_level, sub_level__lt=claim.sub_level)
    # Each round either decides the claim or lost an INSERT race to a row that now
    # exists, so the second round always decides; the third is only a safety margin.
    for _ in range(3):
        if row.filter(below).update(main_level=claim.main_level, sub_level=claim.sub_level, updated_at=timezone.now()):
            claim.passed, claim.highest = True, None
            return
        current = row.values_list("main_level", "sub_level").first()
        if current is not None:
            claim.passed, claim.highest = False, current
            return
        try:
            with transaction.atomic():
                DeviceLevel.objects.create(app_id=app_id, device=claim.device,
                                           device_sha256=device_digest(claim.device), event_field=claim.event_field,
                                           main_level=claim.main_level, sub_level=claim.sub_level)
        except IntegrityError:
            continue
        claim.passed, claim.highest = True, None
        return
    raise RuntimeError(f"Could not record the level of {claim} after three tries.")
