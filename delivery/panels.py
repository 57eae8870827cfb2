"""What the app's pages need from delivery: the overview's history and rejections, the Deliveries
tab's recover form, the Settings tab's test event result, and when a delivery's status panel polls.

The app's overview and settings belong to the dashboard shell (`trackerui.dashboard.views`); they ask
this module for the delivery part of their context, so the shell stays a few lines and the
delivery panels can change without touching it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, QueryDict

from delivery.forms import RecoverForm
from delivery.history.chart import history_chart
from delivery.history.rejections import rejections_summary
from delivery.history.stats import STATS_DEFAULT_DAYS, app_stats
from delivery.models import Delivery
from delivery.outbox.trial_event import TestEventResult
from mappings.models import App


def _test_event_session_key(app: App) -> str:
    return f"test-event-result:{app.pk}"


def test_event_result_keep(request: HttpRequest, app: App, result: TestEventResult) -> None:
    """Keep the result for the page the POST redirects to, so a reload does not send again."""
    request.session[_test_event_session_key(app)] = result.as_dict()


def test_event_result_take(request: HttpRequest, app: App) -> TestEventResult | None:
    """The result of the test event just sent, once: reloading the page later shows the button again."""
    values = request.session.pop(_test_event_session_key(app), None)
    return TestEventResult.from_dict(values) if values else None


def _recover_form_session_key(app: App) -> str:
    return f"recover-form:{app.pk}"


def recover_form_keep(request: HttpRequest, app: App, since: str) -> None:
    """Keep a refused `since` for the page the POST redirects to, where it shows with its error."""
    request.session[_recover_form_session_key(app)] = since


def recover_form_take(request: HttpRequest, app: App, *, preset: str | None = None) -> RecoverForm:
    """The form as last refused, once, with its error next to the field; else `preset` (a link such
    as `?recover_since=24h`) when given; else the default offer."""
    since = request.session.pop(_recover_form_session_key(app), None)
    if since is None and not preset:
        return RecoverForm.with_default()
    form = RecoverForm({"since": since if since is not None else preset[:200]})
    form.is_valid()
    return form


def app_overview_panels(app: App) -> dict[str, Any]:
    """The overview's history (chart, and the per-day table behind it) and rejected events."""
    stats = app_stats(app, days=STATS_DEFAULT_DAYS)
    return {
        "history": stats,
        "history_days": list(reversed(stats.days)),
        "history_chart": history_chart(stats),
        "rejections": rejections_summary(app),
    }


# A delivery's status panel asks for itself again each second, so a retried delivery turns
# delivered without a reload; the limits keep an open tab from asking for ever.
STATUS_POLLS_MAX = 60
STATUS_POLL_HORIZON = timedelta(seconds=5)


def status_polls_done(value: str | None) -> int:
    """The `?poll=N` the panel's own request carries: none on a page load or a retry's answer;
    anything unreadable counts as the limit reached, so it stops polling."""
    if value is None:
        return 0
    return min(int(value), STATUS_POLLS_MAX) if value.isdigit() else STATUS_POLLS_MAX


def status_poll_next(delivery: Delivery, polls_done: int, now: datetime) -> int | None:
    """The number of the panel's next poll, or None when polling is of no use: the status is final,
    the limit is reached, delivery is paused, or the next attempt is more than a few seconds away
    (a backoff, a 429 pause); the page then shows when, and a link to look again."""
    if delivery.status not in Delivery.SENDABLE or polls_done >= STATUS_POLLS_MAX:
        return None
    if not delivery.app.delivery_enabled:
        return None
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + STATUS_POLL_HORIZON:
        return None
    return polls_done + 1


def deliveries_list_query(query: QueryDict) -> QueryDict:
    """The filters of a Deliveries tab query (and its page), without what only steers the page."""
    kept = query.copy()
    for name in ("poll", "recover_since"):
        kept.pop(name, None)
    return kept


def list_poll_next(app: App, deliveries: list[Delivery], polls_done: int, now: datetime) -> int | None:
    """The number of the Deliveries tab rows' next poll, or None: as for one delivery's status panel,
    while a row shown waits to be sent within seconds (after recover), else never."""
    if polls_done >= STATUS_POLLS_MAX or not app.delivery_enabled:
        return None
    soon = now + STATUS_POLL_HORIZON
    if any(delivery.status in Delivery.SENDABLE and delivery.next_attempt_at is not None
           and delivery.next_attempt_at <= soon for delivery in deliveries):
        return polls_done + 1
    return None
