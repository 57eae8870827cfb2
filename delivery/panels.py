"""What the app's pages need from delivery: the overview's history and rejections, the Deliveries
tab's recover form, the Settings tab's test event result.

The app's overview and settings belong to the dashboard shell (`trackerui.views`); they ask
this module for the delivery part of their context, so the shell stays a few lines and the
delivery panels can change without touching it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from delivery.forms import RecoverForm
from delivery.history.chart import history_chart
from delivery.history.rejections import rejections_summary
from delivery.history.stats import STATS_DEFAULT_DAYS, app_stats
from delivery.outbox.probe import TestEventResult
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
