"""Writes for apps and mappings. Every path (dashboard, API, admin) comes through here,
so every write is validated by the same model rules (`full_clean`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mappings.models import MAPPING_FIELDS, App, Mapping, WriteKey
from trackerui.accounts.models import Organization, hash_api_key

APP_FIELDS = ("name", "platform", "chartboost_app_id", "chartboost_app_token",
              "delivery_enabled", "s2s_confirmed")


def _assign(instance: App | Mapping, allowed: tuple[str, ...], values: dict[str, Any]) -> list[str]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    for field, value in values.items():
        setattr(instance, field, value)
    return list(values)


@transaction.atomic
def app_create(*, organization: Organization, **fields: Any) -> App:
    app = App(organization=organization)
    _assign(app, APP_FIELDS, fields)
    app.full_clean()
    app.save()
    return app


@transaction.atomic
def app_update(*, app: App, **fields: Any) -> App:
    """Update the given fields. A blank or missing token keeps the saved one."""
    if not fields.get("chartboost_app_token"):
        fields.pop("chartboost_app_token", None)
    _assign(app, APP_FIELDS, fields)
    app.full_clean()
    app.save()
    return app


def _mapping_save(mapping: Mapping) -> Mapping:
    mapping.full_clean()
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        # A concurrent write took the Event ID between our check and our insert: the
        # check, run again, now names it. Anything else is not ours to explain.
        mapping.full_clean()
        raise
    return mapping


class _Unset(Enum):
    """A keyword argument not given to `mapping_update`: that field keeps its value."""

    UNSET = "unset"


UNSET = _Unset.UNSET


@transaction.atomic
def mapping_create(
    *,
    app: App,
    event_name: str,
    event_field: int,
    event_label: str = "",
    main_level_property: str = "",
    main_level_value: int = 1,
    sub_level_property: str = "",
    sub_level_value: int = 0,
    description_property: str = "",
    description: str = "",
    active: bool = True,
) -> Mapping:
    mapping = Mapping(
        app=app, event_name=event_name, event_field=event_field, event_label=event_label,
        main_level_property=main_level_property, main_level_value=main_level_value,
        sub_level_property=sub_level_property, sub_level_value=sub_level_value,
        description_property=description_property, description=description, active=active,
    )
    return _mapping_save(mapping)


@transaction.atomic
def mapping_update(
    *,
    mapping: Mapping,
    event_name: str | _Unset = UNSET,
    event_field: int | _Unset = UNSET,
    event_label: str | _Unset = UNSET,
    main_level_property: str | _Unset = UNSET,
    main_level_value: int | _Unset = UNSET,
    sub_level_property: str | _Unset = UNSET,
    sub_level_value: int | _Unset = UNSET,
    description_property: str | _Unset = UNSET,
    description: str | _Unset = UNSET,
    active: bool | _Unset = UNSET,
) -> Mapping:
    """Change the given fields; the others keep their values."""
    given = {
        "event_name": event_name, "event_field": event_field, "event_label": event_label,
        "main_level_property": main_level_property, "main_level_value": main_level_value,
        "sub_level_property": sub_level_property, "sub_level_value": sub_level_value,
        "description_property": description_property, "description": description, "active": active,
    }
    _assign(mapping, MAPPING_FIELDS, {name: value for name, value in given.items() if value is not UNSET})
    return _mapping_save(mapping)


def mapping_set_active(*, mapping: Mapping, active: bool) -> Mapping:
    return mapping_update(mapping=mapping, active=active)


def mapping_delete(*, mapping: Mapping) -> None:
    mapping.delete()


def write_key_create(*, app: App, name: str = "", created_by: AbstractBaseUser | None = None) -> tuple[WriteKey, str]:
    """Create a write key for `app`; return it with the raw secret, which is never retrievable again."""
    prefix, raw_key = WriteKey.generate()
    write_key = WriteKey(app=app, name=name.strip(), prefix=prefix, key_hash=hash_api_key(raw_key),
                         created_by=created_by)
    write_key.full_clean()
    write_key.save()
    return write_key, raw_key


def write_key_revoke(*, write_key: WriteKey) -> WriteKey:
    if write_key.revoked_at is None:
        write_key.revoked_at = timezone.now()
        write_key.save(update_fields=["revoked_at"])
    return write_key


@dataclass(frozen=True, slots=True)
class MappingCopied:
    """What became of one of the source app's mappings: `copied` (with the new mapping) or `clashed` (with why)."""

    event_field: int
    event_name: str
    status: str
    mapping: Mapping | None = None
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)


COPIED, CLASHED = "copied", "clashed"


def mappings_copy(*, app: App, from_app: App) -> list[MappingCopied]:
    """Copy every mapping of `from_app` into `app` (two apps of one organization), one Event ID at a time.

    Each copy goes through `mapping_create`, so the model's rules decide and the audit trail
    records it. A copy the rules refuse (the Event ID is already mapped in `app`, ...) is
    reported with the rules' own messages and changes nothing: a clash is never overwritten.
    """
    if app.organization_id != from_app.organization_id:
        raise ValueError("Mappings are copied only between apps of one organization.")
    if app.pk == from_app.pk:
        raise ValidationError({"from_app": "Pick another app: an app's mappings are already its own."})
    outcomes: list[MappingCopied] = []
    for source in from_app.mappings.order_by("event_field"):
        values = {name: getattr(source, name) for name in MAPPING_FIELDS}
        try:
            with transaction.atomic():
                copied = mapping_create(app=app, **values)
        except ValidationError as error:
            outcomes.append(MappingCopied(source.event_field, source.event_name, CLASHED,
                                          errors=error.message_dict))
        else:
            outcomes.append(MappingCopied(source.event_field, source.event_name, COPIED, mapping=copied))
    return outcomes
