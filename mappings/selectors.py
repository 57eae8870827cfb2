"""Reads for apps and mappings, always scoped to one organization."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from mappings.event_fields import EVENT_FIELDS, EventFieldInfo
from mappings.models import App, Mapping, WriteKey, apps_with_chartboost_app_id
from trackerui.accounts.audit import ChangeFeed
from trackerui.accounts.models import Organization, hash_api_key
from trackerui.accounts.selectors import organization_for_request


def apps_for_organization(organization: Organization | None) -> QuerySet[App]:
    """The organization's live apps: a deleted (archived) app is a 404 everywhere but the admin."""
    if organization is None:
        return App.objects.none()
    return App.objects.filter(organization=organization, archived_at__isnull=True)


def app_get_for_organization(organization: Organization | None, app_id: int | str) -> App:
    """The app, or 404 when it belongs to another organization (or nobody)."""
    try:
        return apps_for_organization(organization).get(pk=int(app_id))
    except (App.DoesNotExist, ValueError, TypeError):
        raise Http404("No such app.") from None


def app_get_for_request(request: HttpRequest, app_id: int | str) -> App:
    """The app, or 404 when it is not the acting organization's."""
    return app_get_for_organization(organization_for_request(request), app_id)


def apps_sharing_chartboost_app_id(app: App) -> QuerySet[App]:
    """The organization's other live apps with this app's Chartboost app ID (duplicates from before the rule)."""
    return apps_with_chartboost_app_id(app.organization_id, app.chartboost_app_id).exclude(pk=app.pk)


def mapping_get_for_app(app: App, mapping_id: int | str) -> Mapping:
    try:
        return app.mappings.get(pk=int(mapping_id))
    except (Mapping.DoesNotExist, ValueError, TypeError):
        raise Http404("No such mapping.") from None


def mapping_deleted_from_app(app: App, mapping_id: int | str) -> Mapping | None:
    """The mapping as it was when deleted from `app` (its last audit row), or None when it never was:
    a page for a deleted mapping says so instead of a bare 404."""
    try:
        number = int(mapping_id)
    except (ValueError, TypeError):
        return None
    record = Mapping.audit_trail.filter(id=number, app_id=app.pk, history_type="-").order_by("-history_date").first()
    return None if record is None else record.instance


def event_fields_free(app: App) -> list[int]:
    """The Event IDs no mapping of the app holds yet, paused ones included: each carries one mapping."""
    return sorted(set(EVENT_FIELDS) - set(app.mappings.values_list("event_field", flat=True)))


def mappings_with_event_fields(app: App) -> list[tuple[Mapping, EventFieldInfo]]:
    """The app's mappings by Event ID, each beside its Event ID's definition, for the tables that list them."""
    return [(mapping, EVENT_FIELDS[mapping.event_field]) for mapping in app.mappings.order_by("event_field")]


def active_mappings_by_event_name(app: App) -> dict[str, list[Mapping]]:
    by_name: dict[str, list[Mapping]] = {}
    for mapping in app.mappings.filter(active=True).order_by("event_field"):
        by_name.setdefault(mapping.event_name, []).append(mapping)
    return by_name


def apps_with_active_mapping_counts(organization: Organization | None) -> QuerySet[App]:
    """The organization's apps, each with `active_mapping_count`, for the apps list."""
    return apps_for_organization(organization).annotate(
        active_mapping_count=Count("mappings", filter=Q(mappings__active=True))
    )


def write_keys_for_app(app: App) -> QuerySet[WriteKey]:
    return WriteKey.objects.filter(app=app).select_related("created_by")


def write_key_get_for_app(app: App, write_key_id: int | str) -> WriteKey:
    """The app's write key, or 404 when it is another app's."""
    try:
        return write_keys_for_app(app).get(pk=int(write_key_id))
    except (WriteKey.DoesNotExist, ValueError, TypeError):
        raise Http404("No such write key.") from None


def write_key_for_raw(raw_key: str) -> WriteKey | None:
    """The live write key a raw secret names, with its app (not archived), else None."""
    write_key = (
        WriteKey.objects.select_related("app")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True, app__archived_at__isnull=True)
        .first()
    )
    if write_key is not None:
        # As for API keys (trackerui/accounts/selectors.py::api_key_for_raw): at most one write a minute.
        now = timezone.now()
        if write_key.last_used_at is None or (now - write_key.last_used_at).total_seconds() > 60:
            # A queryset update writes no audit entry, and needs none: `last_used_at` is not audited.
            WriteKey.objects.filter(pk=write_key.pk).update(last_used_at=now)
            write_key.last_used_at = now
    return write_key


def app_changes(app: App) -> ChangeFeed:
    """The app's audit trail: its own changes, its mappings' and its write keys' (deleted ones too), newest first.

    The one reader behind the changes API, the app's Changes page and its admin history.
    """
    return ChangeFeed({
        "app": App.audit_trail.filter(id=app.pk),
        "mapping": Mapping.audit_trail.filter(app_id=app.pk),
        "write_key": WriteKey.audit_trail.filter(app_id=app.pk),
    })
