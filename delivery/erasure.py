"""Erasing a device from an organization's apps: "Forget a device" and OpenDSR erasure requests, one service.

What goes, across every app of the organization (archived ones too):
- its tracked events, each remembered only as the hash of its key (`ErasedEvent`), so the same
  event sent again still answers `duplicate` instead of being stored and sent to Chartboost anew;
- its deliveries and their attempts (the requests we stored, which carried its identifiers);
- its `DeviceLevel` high-water marks;
- an event name's example properties (the catalogue) that came from one of its events or carry
  one of its identifiers;
- a rejection example whose masked identifier ends as one of its identifiers does, or that carries
  one: the event is dropped from the example, its errors stay.

The rollups stay as they are: counts name no device, so stats and charts do not change. A
pending or retrying delivery erased stays counted in its status.

A device is found by its identity (`delivery/ingest/schema.py::device_identity`, the key ingestion
stores) or by the SHA-256 of its identifier (`device_digest`, stored beside it), never by reading
every row's JSON: the tracked events' and levels' `device` and `device_sha256` columns are indexed.
Once found, the identifiers its events carried (an Android event may carry a `gaid` and a `uuid`)
widen the search to its other identities, a bounded number of times.

The `Erasure` row keeps when, the counts and (its audit trail) who asked: never an identifier.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from delivery.history.rejections import IDENTIFIER_KEPT
from delivery.ingest.schema import MAX_UUID_LENGTH, device_identity, event_id_digest
from delivery.models import (
    Attempt,
    Delivery,
    DeviceLevel,
    ErasedEvent,
    Erasure,
    EventName,
    RejectionRollup,
    TrackedEvent,
)
from mappings.models import App
from trackerui.accounts.audit import ChangeFeed
from trackerui.accounts.models import Organization
from trackerui.foundation.validators import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE

IDENTIFIER_KEYS = ("ifa", "gaid", "uuid")
IDENTIFIERS_REQUIRED = "Name the device by at least one of ifa, gaid or uuid, e.g. {\"ifa\": \"6D92078A-...\"}."
_ADVERTISING_ID = re.compile(r"[0-9a-f]{32}")
# Identifiers shorter than this are not looked for inside other text (examples): they would match anything.
MIN_SEARCHED_LENGTH = 8
# How many times the identifiers found on a device's events may widen the search: each round
# adds the identities its events carried besides the one asked for.
WIDEN_ROUNDS = 3
# Rows per query when erasing by primary key.
CHUNK = 500


@dataclass(frozen=True)
class DeviceSubject:
    """Who to erase: device identities (`device_identity`), and SHA-256 digests of identifiers (`device_digest`)."""

    keys: frozenset[str] = field(default_factory=frozenset)
    digests: frozenset[str] = field(default_factory=frozenset)


def subject_from_identifiers(identifiers: Any) -> DeviceSubject:
    """The device named by `{"ifa" | "gaid" | "uuid": value}`, each in any form ingestion accepts
    (uppercase, with or without dashes).

    Raises Django's ValidationError, by identifier (`{"ifa": [...]}`) when one is wrong, for the API
    and the page alike.
    """
    if not isinstance(identifiers, dict) or not identifiers:
        raise ValidationError(IDENTIFIERS_REQUIRED)
    errors: dict[str, list[str]] = {}
    keys: set[str] = set()
    for name, value in identifiers.items():
        problem = _identifier_problem(name, value)
        if problem:
            errors[str(name)[:40]] = [problem]
        else:
            keys.add(device_identity(value.strip()))
    if errors:
        raise ValidationError(errors)
    return DeviceSubject(keys=frozenset(keys))


def advertising_id_problem(value: str) -> str:
    """Why a value is no advertising id (an ifa, a gaid), or "": 32 hexadecimal digits, dashes and
    case as you like, not all zero."""
    key = device_identity(value.strip())
    if not _ADVERTISING_ID.fullmatch(key):
        return "An advertising id is 32 hexadecimal characters (dashes and uppercase allowed)."
    if key == "0" * 32:
        return "An all-zero advertising id (limit ad tracking) identifies nobody."
    return ""


def _identifier_problem(name: Any, value: Any) -> str:
    if name not in IDENTIFIER_KEYS:
        return "Unknown identifier: a device is named by ifa, gaid or uuid."
    if not isinstance(value, str) or not value.strip():
        return "Must be a non-empty string."
    # PostgreSQL cannot even compare text holding NUL, and no identifier holds control characters.
    if CONTROL_CHARACTERS.search(value):
        return CONTROL_CHARACTERS_MESSAGE
    if name == "uuid":
        return f"At most {MAX_UUID_LENGTH} characters." if len(value.strip()) > MAX_UUID_LENGTH else ""
    return advertising_id_problem(value)


def device_forget(*, organization: Organization, subject: DeviceSubject) -> Erasure:
    """Erase the device from the organization's apps now; the completed `Erasure` says how many rows went."""
    with transaction.atomic():
        erasure = Erasure.objects.create(organization=organization, kind=Erasure.Kind.FORGET)
        return _erasure_run(erasure, subject)


def opendsr_request_submit(
    *, organization: Organization, subject_request_id: UUID, submitted_at: datetime, subject: DeviceSubject
) -> tuple[Erasure, bool]:
    """Take an OpenDSR erasure request: (the request, whether it is new).

    A request id the organization sent before answers that request, unchanged, once it is completed.
    The request is stored `pending` first, in its own transaction, then erased and `completed` in
    another: inline, since one device's rows are found through indexes, and no identifier is ever
    stored to wait for a worker. Should the erasure fail, the request stays `pending`, and the same
    request sent again (with its identities) runs it again.
    """
    erasure, created = _opendsr_request_get_or_create(organization, subject_request_id, submitted_at)
    if erasure.status != Erasure.Status.COMPLETED:
        with transaction.atomic():
            # Locked, so two copies of one request sent at once erase once.
            erasure = Erasure.objects.select_for_update().get(pk=erasure.pk)
            if erasure.status != Erasure.Status.COMPLETED:
                erasure = _erasure_run(erasure, subject)
    return erasure, created


def _opendsr_request_get_or_create(
    organization: Organization, subject_request_id: UUID, submitted_at: datetime
) -> tuple[Erasure, bool]:
    known = Erasure.objects.filter(organization=organization, subject_request_id=subject_request_id).first()
    if known is not None:
        return known, False
    try:
        with transaction.atomic():
            return Erasure.objects.create(organization=organization, kind=Erasure.Kind.OPENDSR,
                                          subject_request_id=subject_request_id, submitted_at=submitted_at), True
    except IntegrityError:
        # The same request, sent twice at once: the other copy stored it first.
        return Erasure.objects.get(organization=organization, subject_request_id=subject_request_id), False


def erasure_get_for_organization(organization: Organization, subject_request_id: UUID) -> Erasure | None:
    """The organization's OpenDSR request of that id; None for another organization's or none."""
    return Erasure.objects.filter(organization=organization, subject_request_id=subject_request_id).first()


def erasures_for_organization(organization: Organization) -> QuerySet[Erasure]:
    """The organization's erasures, newest first."""
    return Erasure.objects.filter(organization=organization)


def erasure_changes(organization: Organization) -> ChangeFeed:
    """The audit trail of the organization's erasures (who asked, when, the counts), newest first."""
    return ChangeFeed({"erasure": Erasure.audit_trail.filter(organization_id=organization.pk)})


def _erasure_run(erasure: Erasure, subject: DeviceSubject) -> Erasure:
    """Erase the subject's rows in the erasure's organization and record the counts. Inside a transaction."""
    app_ids = list(App.objects.filter(organization_id=erasure.organization_id).values_list("pk", flat=True))
    keys, raw_identifiers = _device_keys(app_ids, subject)
    forms = _identifier_forms(keys, raw_identifiers)
    devices = Q(app_id__in=app_ids, device__in=keys)
    events = list(TrackedEvent.objects.filter(devices).values_list("pk", "app_id", "name", "event_id", "timestamp",
                                                                      "properties"))

    _, deleted = Delivery.objects.filter(devices).delete()
    erasure.deliveries = deleted.get(Delivery._meta.label, 0)
    erasure.attempts = deleted.get(Attempt._meta.label, 0)
    erasure.device_levels = DeviceLevel.objects.filter(devices).delete()[0]
    erasure.catalogue_examples = _catalogue_examples_clear(app_ids, events, forms)
    erasure.rejection_examples = _rejection_examples_clear(app_ids, forms)
    ErasedEvent.objects.bulk_create(
        [ErasedEvent(app_id=app_id, event_id_sha256=event_id_digest(event_id), timestamp=timestamp)
         for _, app_id, _, event_id, timestamp, _ in events],
        ignore_conflicts=True, batch_size=CHUNK,
    )
    erasure.tracked_events = 0
    pks = [pk for pk, *_ in events]
    for start in range(0, len(pks), CHUNK):
        erasure.tracked_events += TrackedEvent.objects.filter(pk__in=pks[start:start + CHUNK]).delete()[0]

    erasure.status = Erasure.Status.COMPLETED
    erasure.completed_at = timezone.now()
    # Saved, not updated: the audit trail records the counts and who asked.
    erasure.save()
    return erasure


def _device_keys(app_ids: list[int], subject: DeviceSubject) -> tuple[set[str], set[str]]:
    """Every identity of the device in these apps, and the identifiers as its events carried them."""
    keys = {key for key in subject.keys if key}
    if subject.digests:
        for model in (TrackedEvent, DeviceLevel):
            keys.update(model.objects.filter(app_id__in=app_ids, device_sha256__in=subject.digests)
                        .values_list("device", flat=True).distinct())
    raw: set[str] = set()
    searched: set[str] = set()
    for _ in range(WIDEN_ROUNDS):
        new = keys - searched
        if not new:
            break
        searched |= new
        carried = TrackedEvent.objects.filter(app_id__in=app_ids, device__in=new).values_list("identifiers", flat=True)
        for identifiers in carried.distinct():
            for name in IDENTIFIER_KEYS:
                value = identifiers.get(name) if isinstance(identifiers, dict) else None
                if isinstance(value, str) and value:
                    raw.add(value)
                    keys.add(device_identity(value))
    return keys, raw


def _identifier_forms(keys: set[str], raw: set[str]) -> set[str]:
    """The device's identifiers as they may be written anywhere, lowercase: as keyed, as received,
    and an advertising id in its UUID form."""
    forms = {key for key in keys if key} | {value.lower() for value in raw}
    for key in keys:
        if len(key) == 32:
            forms.add(f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}")
    return forms


def _carries(value: Any, forms: set[str]) -> bool:
    text = json.dumps(value, ensure_ascii=False).lower()
    return any(form in text for form in forms if len(form) >= MIN_SEARCHED_LENGTH)


def _catalogue_examples_clear(app_ids: list[int], events: list[tuple[Any, ...]], forms: set[str]) -> int:
    """Clear the example properties that came from one of the device's events or carry its identifiers.

    The catalogue keeps the latest properties per event name and not whose they were: an example
    equal to one of the device's events of that name is taken to be its own.
    """
    own: dict[tuple[int, str], list[Any]] = {}
    for _, app_id, name, _, _, properties in events:
        own.setdefault((app_id, name), []).append(properties)
    cleared = [
        pk for pk, app_id, name, example in
        EventName.objects.filter(app_id__in=app_ids).values_list("pk", "app_id", "name", "example_properties")
        if example and (example in own.get((app_id, name), []) or _carries(example, forms))
    ]
    for start in range(0, len(cleared), CHUNK):
        EventName.objects.filter(pk__in=cleared[start:start + CHUNK]).update(example_properties={})
    return len(cleared)


def _rejection_examples_clear(app_ids: list[int], forms: set[str]) -> int:
    """Drop the event from the rejection examples that may be the device's: a masked identifier with the
    same last characters (`delivery/history/rejections.py::identifier_masked`), or any of its identifiers."""
    endings = {form[-IDENTIFIER_KEPT:] for form in forms if len(form) >= IDENTIFIER_KEPT}
    cleared = 0
    rows = RejectionRollup.objects.filter(app_id__in=app_ids).values_list("pk", "example")
    for pk, example in rows:
        event = example.get("event") if isinstance(example, dict) else None
        if not event:
            continue
        identifiers = event.get("identifiers") if isinstance(event, dict) else None
        masked = identifiers.values() if isinstance(identifiers, dict) else []
        if any(str(value).lstrip("…").lower() in endings for value in masked) or _carries(event, forms):
            RejectionRollup.objects.filter(pk=pk).update(example={"errors": example.get("errors", {})})
            cleared += 1
    return cleared
