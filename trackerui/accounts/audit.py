"""The audit trail: who changed an audited object, from where, and each field before and after.

Apps, mappings, API keys and memberships keep their history with django-simple-history:
each model declares `history = AuditedRecords(...)`, and every save or delete through the
ORM (a form, a service, the admin, a management command) writes one historical row with
the object's audited fields as they now are.

How the actor and the source reach the row: `simple_history`'s `HistoryRequestMiddleware`
keeps the current request in `HistoricalRecords.context`, and `actor_of_request` reads it
only when a row is written, not when the request comes in. By then Django has resolved the
URL (the admin or our API) and DRF has authenticated the request: DRF sets `request.user`
and `request.auth` late, on its own Request, which passes both on to Django's request. So
an API key shows as `api_key`, a signed-in user as `user`, and work outside any request (a
management command, a qcluster task) as `system`.

Rules of the store:
- `QuerySet.update()` and `bulk_update()` write no history (they send no signals). On an
  audited model they may touch only unaudited columns (an API key's `last_used_at`);
  anything else must save the object, or write the history row itself.
- A save that changes no audited field leaves no row, so a form sent back as it was is no
  change.
- A secret is never copied (`excluded_fields`): the app token is audited as its hint, a
  value the model derives (`derived`), never the token, not even encrypted.

Reading: `ChangeFeed` lists the changes of one or more historical querysets, newest first,
as `Change` values, for the API, the pages and the admin alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, overload

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.http import HttpRequest
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

if TYPE_CHECKING:
    from simple_history.models import HistoricalChanges


class ActorType(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


class Source(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class Action(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    ARCHIVED = "archived", "Archived"


@dataclass(frozen=True)
class Actor:
    type: str
    name: str


SYSTEM_ACTOR = Actor(ActorType.SYSTEM, "system")


def source_of_request(request: HttpRequest) -> str:
    """Where a request came in: the admin's URLs, a DRF view of our API, or else a dashboard page."""
    # Imported here: rest_framework.views loads our API settings, whose throttle imports the
    # accounts models, which import this module. The circle runs through DRF, not our layers.
    from rest_framework.views import APIView  # noqa: PLC0415

    match = getattr(request, "resolver_match", None)
    if match is None:
        return Source.DASHBOARD
    if "admin" in match.namespaces:
        return Source.ADMIN
    view_class = getattr(match.func, "cls", None)
    if isinstance(view_class, type) and issubclass(view_class, APIView):
        return Source.API
    return Source.DASHBOARD


def actor_of_request(request: HttpRequest) -> Actor:
    """Who acts in a request: its API key, else its signed-in user.

    A credential in `request.auth` says what kind of actor it is (`ApiKey.audit_actor_type`):
    this module cannot import the accounts models, which import it for `AuditedRecords`.
    """
    auth = getattr(request, "auth", None)
    actor_type = getattr(auth, "audit_actor_type", None)
    if actor_type is not None:
        return Actor(actor_type, str(auth))
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(ActorType.USER, user.get_username())
    return SYSTEM_ACTOR


def current_actor_and_source() -> tuple[Actor, str]:
    """The actor and source of the change being written now: the current request's, else the system's."""
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return SYSTEM_ACTOR, Source.SYSTEM
    return actor_of_request(request), source_of_request(request)


class AuditedChange(models.Model):
    """What every audited history row carries besides the object's fields: who and from where."""

    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_name = models.CharField(max_length=150)
    source = models.CharField(max_length=10, choices=Source.choices)

    class Meta:
        abstract = True


def audit_value(obj: models.Model, name: str) -> Any:
    """A field's stored value on an object or its history row (a foreign key's id), or a derived value."""
    try:
        return getattr(obj, obj._meta.get_field(name).attname)
    except FieldDoesNotExist:
        return getattr(obj, name)


class AuditedRecords(HistoricalRecords):
    """`HistoricalRecords` for the audit trail.

    `shown` names the fields the trail shows, in order (foreign keys by their name);
    `derived` adds columns for values the model computes rather than stores, copied from
    the object's attribute of the same name; `archived_by` names the field whose setting
    is the object's archiving.

    `label` and `label_fields` are for a model whose `__str__` reads related objects (a
    membership names its user and organization): the trail then builds each change's label
    from the history row alone, calling `label` with the value of each of `label_fields`, a
    foreign key as its object's label, loaded once per page. The object may since have been
    deleted, and each `__str__` would cost queries. Without them, the label is the `__str__`
    of the object as the row has it.
    """

    def __init__(self, *, shown: Sequence[str], excluded_fields: Sequence[str] = (),
                 derived: dict[str, models.Field] | None = None, archived_by: str = "",
                 label: Callable[..., str] | None = None, label_fields: Sequence[str] = ()) -> None:
        super().__init__(bases=(AuditedChange,), excluded_fields=list(excluded_fields))
        self.shown = tuple(shown)
        self.derived = derived or {}
        self.archived_by = archived_by
        self.label = label
        self.label_fields = tuple(label_fields)

    def create_history_model(self, model: type[models.Model], inherited: bool) -> type[models.Model]:
        history_model = super().create_history_model(model, inherited)
        # simple-history names the app's package as the module when the app's label is not the
        # package's last part (accounts in trackerui.accounts); the class lives in the models module.
        history_model.__module__ = self.module
        return history_model

    def get_extra_fields(self, model: type[models.Model], fields: dict[str, models.Field]) -> dict[str, Any]:
        extra = super().get_extra_fields(model, fields)
        extra.update(self.derived)
        extra["audit_shown_fields"] = self.shown
        extra["audit_archived_by"] = self.archived_by
        # A static method: the history model must not pass its row as the label's first argument.
        extra["audit_label"] = None if self.label is None else staticmethod(self.label)
        extra["audit_label_fields"] = self.label_fields
        return extra

    def finalize(self, sender: type[models.Model], **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            history_model = getattr(sender, self.manager_name).model
            pre_create_historical_record.connect(self._fill, sender=history_model, weak=False)

    def _fill(self, sender: type[models.Model], instance: models.Model, history_instance: AuditedChange,
              **kwargs: Any) -> None:
        actor, source = current_actor_and_source()
        history_instance.actor_type, history_instance.actor_name = actor.type, actor.name
        history_instance.source = source
        for name in self.derived:
            setattr(history_instance, name, getattr(instance, name))

    def create_historical_record(self, instance: models.Model, history_type: str, using: str | None = None) -> None:
        if history_type == "~" and not self._audited_fields_changed(instance):
            return
        super().create_historical_record(instance, history_type, using)

    def _audited_fields_changed(self, instance: models.Model) -> bool:
        latest = getattr(instance, self.manager_name).order_by("-history_id").first()
        if latest is None:
            return True
        return any(audit_value(latest, name) != audit_value(instance, name) for name in self.shown)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: Actor
    source: str
    object_type: str
    object_id: int
    object_label: str
    action: str
    changes: list[FieldChange]


def _json_value(value: Any) -> Any:
    """A field value as the trail shows it: JSON's own types, times as UTC ISO 8601."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _shown_value(record: HistoricalChanges, name: str, labels: dict[tuple[str, Any], str]) -> Any:
    """A field's value as the trail shows it; a foreign key as its object's label, or as deleted."""
    value = audit_value(record, name)
    try:
        field = record._meta.get_field(name)
    except FieldDoesNotExist:
        return _json_value(value)
    if field.is_relation and value is not None:
        return labels.get((name, value), f"deleted {field.related_model._meta.verbose_name} #{value}")
    return _json_value(value)


def _object_label(record: HistoricalChanges, labels: dict[tuple[str, Any], str]) -> str:
    """How the changed object reads, from its history row and the page's labels (no query)."""
    if record.audit_label is None:
        # The object as it was then, built from the row alone (no query, unlike `record.instance`).
        return str(record.history_object)
    return record.audit_label(*(_shown_value(record, name, labels) for name in record.audit_label_fields))


def _related_labels(records: Iterable[HistoricalChanges]) -> dict[tuple[str, Any], str]:
    """How each foreign key these rows show or are labelled by reads (a user as the username), in one query a field.

    Not select_related: the object it names may since be deleted, and the row must still show.
    """
    ids: dict[str, set[Any]] = defaultdict(set)
    fields: dict[str, models.ForeignKey] = {}
    for record in records:
        for name in (*record.audit_shown_fields, *record.audit_label_fields):
            try:
                field = record._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if field.is_relation and audit_value(record, name) is not None:
                fields[name] = field
                ids[name].add(audit_value(record, name))
    labels: dict[tuple[str, Any], str] = {}
    for name, field in fields.items():
        for pk, related in field.related_model._default_manager.in_bulk(ids[name]).items():
            labels[(name, pk)] = str(related)
    return labels


def _action(record: HistoricalChanges, previous: HistoricalChanges | None) -> str:
    if record.history_type == "+":
        return Action.CREATED
    if record.history_type == "-":
        return Action.DELETED
    archived_by = record.audit_archived_by
    if archived_by and previous is not None and getattr(previous, archived_by) is None \
            and getattr(record, archived_by) is not None:
        return Action.ARCHIVED
    return Action.CHANGED


def _field_changes(record: HistoricalChanges, previous: HistoricalChanges | None,
                   labels: dict[tuple[str, Any], str]) -> list[FieldChange]:
    changes = []
    for name in record.audit_shown_fields:
        after = None if record.history_type == "-" else _shown_value(record, name, labels)
        if record.history_type == "-":
            before = _shown_value(record, name, labels)
        else:
            before = None if previous is None else _shown_value(previous, name, labels)
        # Created: every field that has a value; changed: what changed; deleted: every field it had.
        # Blank and none say the same when an object comes or goes.
        if before == after or (record.history_type != "~" and before in (None, "") and after in (None, "")):
            continue
        changes.append(FieldChange(name, before, after))
    return changes


def changes_of_records(object_type: str, records: Sequence[HistoricalChanges]) -> list[Change]:
    """These history rows (all of one model) as changes, each diffed against its object's row before it.

    A constant number of queries, whatever the number of rows: two for the rows before,
    one per foreign key the rows show or are labelled by (`_related_labels`). Nothing reads a
    related object per row: the labels come from that map (`_object_label`).
    """
    if not records:
        return []
    model = type(records[0])
    before = (model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
              .order_by("-history_id").values("history_id")[:1])
    previous_ids = dict(model.objects.filter(history_id__in=[r.history_id for r in records])
                        .annotate(previous_id=Subquery(before)).values_list("history_id", "previous_id"))
    previous = model.objects.in_bulk([pk for pk in previous_ids.values() if pk is not None])
    labels = _related_labels([*records, *previous.values()])
    changes = []
    for record in records:
        prior = previous.get(previous_ids.get(record.history_id))
        changes.append(Change(
            at=record.history_date,
            actor=Actor(record.actor_type, record.actor_name),
            source=record.source,
            object_type=object_type,
            object_id=record.id,
            object_label=_object_label(record, labels),
            action=_action(record, prior),
            changes=_field_changes(record, prior, labels),
        ))
    return changes


class ChangeFeed:
    """The changes of one or more historical querysets, newest first, sliceable like a queryset.

    `parts` maps what each queryset's rows are ("app", "mapping") to the queryset. Counting
    and slicing run in the database over the union of the parts' (time, id) keys, so a
    Paginator (the API's and the pages') reads one page at a time.
    """

    def __init__(self, parts: dict[str, QuerySet]) -> None:
        self.parts = parts

    def _keys(self) -> QuerySet:
        keys = [
            queryset.order_by().annotate(part=Value(name, output_field=CharField()))
            .values_list("history_date", "history_id", "part")
            for name, queryset in self.parts.items()
        ]
        first, *rest = keys
        union = first.union(*rest, all=True) if rest else first
        return union.order_by("-history_date", "-history_id", "part")

    def count(self) -> int:
        return self._keys().count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        if isinstance(index, int):
            return self[index:index + 1][0]
        keys = list(self._keys()[index])
        by_key: dict[tuple[str, int], Change] = {}
        for name, queryset in self.parts.items():
            ids = [history_id for _, history_id, part in keys if part == name]
            records = list(queryset.model.objects.filter(history_id__in=ids).order_by("-history_id"))
            for record, change in zip(records, changes_of_records(name, records), strict=True):
                by_key[(name, record.history_id)] = change
        return [by_key[(part, history_id)] for _, history_id, part in keys]
