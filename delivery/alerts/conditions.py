"""Which conditions hold on which app, and the alerts that follow (docs/design.md, "Alerts").

Read only from the circuit (`AppSendingState`), the rejection rollups and one recent, bounded
window of deliveries through the index on (app, created_at): never a scan of all of an
app's deliveries. Only apps of organizations with a channel are looked at.

- `circuit_open`: the app's circuit is open.
- `success_rate_low`: of the deliveries created in the window and tried at least once, fewer
  than the organization's threshold (default 90 %) were delivered, with at least
  `ALERT_MIN_ATTEMPTS` (20) tried.
- `needs_fix`: deliveries in the window failed with Chartboost's 401 or 403 (a bad token),
  or the app's token cannot be decrypted: only the customer can fix either.
- `rejections_high`: at least `ALERT_MIN_ATTEMPTS` events, at least 10 % of them rejected.
  Rejected events are not stored, only counted per hour (`RejectionRollup`), so this counts
  from the top of the hour the window starts in, for the accepted events too.

Each condition on an app is an episode (`Condition`) from when it is first seen until it
is no longer seen. When one starts, each of the organization's channels gets an alert,
unless it got one for the same app and condition within `ALERT_REPEAT_SECONDS`; when it
ends, each channel that got an alert for it gets `recovered`, with how long it lasted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from delivery import chartboost
from delivery.alerts import messages
from delivery.alerts.channels import success_rate_threshold
from delivery.alerts.models import Alert, AlertChannel, Condition
from delivery.alerts.state import NewAlert, alerts_create
from delivery.history.rollups import hour_of
from delivery.models import AppSendingState, Delivery, RejectionRollup
from delivery.outbox.circuit import OPEN
from mappings.fields import UNREADABLE_TOKEN_MESSAGE, secret_fingerprint
from mappings.models import App

Kind = Condition.Kind
REJECTED_SHARE = 0.10
BAD_TOKEN_STATUSES = (401, 403)

Seen = dict[tuple[int, str], dict[str, Any]]


@dataclass(frozen=True)
class Evaluation:
    started: int
    ended: int
    alerts: int


def _watched_apps() -> dict[int, App]:
    organizations = AlertChannel.objects.values_list("organization_id", flat=True).distinct()
    return {app.pk: app for app in App.objects.filter(organization_id__in=organizations, archived_at__isnull=True)
            .select_related("organization")}


def _circuits_open(apps: dict[int, App]) -> Seen:
    return {
        (app_id, Kind.CIRCUIT_OPEN): {"since": messages.iso(since) if since else None, "failures": failures}
        for app_id, since, failures in AppSendingState.objects.filter(app_id__in=apps, circuit=OPEN)
        .values_list("app_id", "circuit_since", "failures")
    }


def _window_counts(apps: dict[int, App], since: datetime) -> dict[int, dict[str, int]]:
    """Per app and status, the deliveries created since `since` that were tried at least once."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (Delivery.objects.filter(app_id__in=apps, created_at__gte=since, attempt_count__gt=0)
            .values("app_id", "status").annotate(total=Count("id")).order_by()
            .values_list("app_id", "status", "total"))
    for app_id, status, total in rows:
        counts[app_id][status] = total
    return counts


def _success_rate_low(apps: dict[int, App], since: datetime, window_minutes: float) -> Seen:
    seen: Seen = {}
    thresholds: dict[int, int] = {}
    for app_id, counts in _window_counts(apps, since).items():
        attempted = sum(counts.values())
        if attempted < settings.ALERT_MIN_ATTEMPTS:
            continue
        organization_id = apps[app_id].organization_id
        if organization_id not in thresholds:
            thresholds[organization_id] = success_rate_threshold(organization_id)
        delivered = counts.get(Delivery.Status.DELIVERED, 0)
        rate = 100 * delivered / attempted
        if rate < thresholds[organization_id]:
            seen[(app_id, Kind.SUCCESS_RATE_LOW)] = {
                "success_rate": round(rate, 1), "attempted": attempted, "delivered": delivered,
                "threshold": thresholds[organization_id], "window_minutes": window_minutes}
    return seen


def _needs_fix(apps: dict[int, App], since: datetime) -> Seen:
    seen: Seen = {}
    bad_token = (Delivery.objects.filter(app_id__in=apps, created_at__gte=since, status=Delivery.Status.FAILED,
                                         attempts__response_status__in=BAD_TOKEN_STATUSES)
                 .values("app_id").annotate(failed=Count("id", distinct=True)).order_by()
                 .values_list("app_id", "failed"))
    for app_id, failed in bad_token:
        # The hint the deliveries page shows for these answers.
        seen[(app_id, Kind.NEEDS_FIX)] = {"failed": failed, "reason": "Chartboost refused the app token",
                                         "hint": chartboost.hint_for(401, apps[app_id].chartboost_app_id)}
    noted = AppSendingState.objects.filter(app_id__in=apps).exclude(token_unreadable="").values_list(
        "app_id", "token_unreadable")
    for app_id, fingerprint in noted:
        # The note applies while the app still has the token it was made for (delivery/selectors.py).
        if secret_fingerprint(apps[app_id].chartboost_app_token) == fingerprint:
            seen[(app_id, Kind.NEEDS_FIX)] = {"failed": 0, "reason": "the app token cannot be decrypted",
                                             "hint": UNREADABLE_TOKEN_MESSAGE}
    return seen


def _rejections_high(apps: dict[int, App], since: datetime) -> Seen:
    hour = hour_of(since)
    rejected: dict[int, dict[str, int]] = defaultdict(dict)
    for app_id, reason, total in (RejectionRollup.objects.filter(app_id__in=apps, hour__gte=hour)
                                  .values("app_id", "reason").annotate(total=Sum("count")).order_by()
                                  .values_list("app_id", "reason", "total")):
        rejected[app_id][reason] = total
    if not rejected:
        return {}
    accepted = dict(Delivery.objects.filter(app_id__in=rejected, created_at__gte=hour)
                    .values("app_id").annotate(events=Count("event_id", distinct=True)).order_by()
                    .values_list("app_id", "events"))
    seen: Seen = {}
    for app_id, reasons in rejected.items():
        total_rejected = sum(reasons.values())
        events = total_rejected + accepted.get(app_id, 0)
        if events < settings.ALERT_MIN_ATTEMPTS or total_rejected < REJECTED_SHARE * events:
            continue
        top_reason = max(reasons, key=lambda reason: reasons[reason])
        example = (RejectionRollup.objects.filter(app_id=app_id, hour__gte=hour, reason=top_reason)
                   .order_by("-last_seen_at").values_list("example", flat=True).first())
        seen[(app_id, Kind.REJECTIONS_HIGH)] = {
            "events": events, "rejected": total_rejected, "rejected_percent": round(100 * total_rejected / events, 1),
            "top_reason": top_reason, "example": example or {}, "since": messages.iso(hour)}
    return seen


def conditions_seen(apps: dict[int, App], now: datetime) -> Seen:
    window = timedelta(seconds=settings.ALERT_WINDOW_SECONDS)
    since = now - window
    seen: Seen = {}
    seen.update(_rejections_high(apps, since))
    seen.update(_needs_fix(apps, since))
    seen.update(_success_rate_low(apps, since, round(window.total_seconds() / 60, 2)))
    seen.update(_circuits_open(apps))
    return seen


def _channels_by_organization(apps: dict[int, App]) -> dict[int, list[int]]:
    channels: dict[int, list[int]] = defaultdict(list)
    organizations = {app.organization_id for app in apps.values()}
    for channel_id, organization_id in AlertChannel.objects.filter(organization_id__in=organizations).values_list(
            "pk", "organization_id"):
        channels[organization_id].append(channel_id)
    return channels


def _condition_start(app: App, kind: str, figures: dict[str, Any], channel_ids: list[int], now: datetime) -> int:
    """Open an episode and alert each channel not alerted about it within the repeat window; alerts created."""
    recently = set(Alert.objects.filter(
        channel_id__in=channel_ids, app=app, kind=kind,
        created_at__gte=now - timedelta(seconds=settings.ALERT_REPEAT_SECONDS)).values_list("channel_id", flat=True))
    try:
        with transaction.atomic():
            condition = Condition.objects.create(app=app, kind=kind, started_at=now, figures=figures)
            message = messages.message_build(kind=kind, app=app, organization_slug=app.organization.slug, at=now,
                                             figures=figures)
            created = alerts_create([NewAlert(channel_id, app.pk, condition.pk, kind, message)
                                     for channel_id in channel_ids if channel_id not in recently], now=now)
    except IntegrityError:
        # Another evaluator opened the same episode meanwhile: it sends the alerts.
        return 0
    return len(created)


def _condition_end(condition: Condition, app: App | None, now: datetime) -> int:
    """Close an episode and tell each channel that was alerted about it; alerts created."""
    with transaction.atomic():
        if not Condition.objects.filter(pk=condition.pk, ended_at__isnull=True).update(ended_at=now):
            return 0
        alerted = sorted(set(Alert.objects.filter(condition=condition, kind=condition.kind)
                             .values_list("channel_id", flat=True)))
        if not alerted or app is None:
            return 0
        figures = messages.recovered_figures(condition.kind, condition.started_at, now)
        message = messages.message_build(kind=Alert.RECOVERED, app=app, organization_slug=app.organization.slug,
                                         at=now, figures=figures)
        return len(alerts_create([NewAlert(channel_id, app.pk, condition.pk, Alert.RECOVERED, message)
                                  for channel_id in alerted], now=now))


def conditions_evaluate(now: datetime | None = None) -> Evaluation:
    """Compare what holds now with the open episodes: start the new ones, end the finished ones."""
    now = now or timezone.now()
    apps = _watched_apps()
    seen = conditions_seen(apps, now)
    open_episodes = {(condition.app_id, condition.kind): condition
                     for condition in Condition.objects.filter(ended_at__isnull=True)}
    channels = _channels_by_organization(apps)
    started = ended = alerts = 0
    for (app_id, kind), figures in sorted(seen.items()):
        if (app_id, kind) not in open_episodes:
            app = apps[app_id]
            alerts += _condition_start(app, kind, figures, channels.get(app.organization_id, []), now)
            started += 1
    for key, condition in sorted(open_episodes.items()):
        if key not in seen:
            alerts += _condition_end(condition, apps.get(condition.app_id), now)
            ended += 1
    return Evaluation(started, ended, alerts)
