""""Send test event": one synthetic event, signed and posted to Chartboost now, and what it answered.

The module is named for a trial, not a test, so no test runner mistakes it for one, and not
"probe", which is the circuit's word (`circuit.py`) for the one request an open circuit lets through.

It goes through the sender's own code (`sending.signed_request`, the pooled session,
`chartboost.post` and its timeouts), so a customer sees exactly what their deliveries
look like on the wire and whether Chartboost takes their credentials. Nothing is stored:
the event and its delivery exist only in memory, and the result carries the token masked.

This module is the one place the test event's rules live, for the app page and the API
alike: at most `TEST_EVENTS_PER_MINUTE` per app (counted across every web process), and
a clear refusal, nothing sent, when the app's token cannot be decrypted.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from delivery import chartboost
from delivery.items import track_item
from delivery.models import Delivery, TrackedEvent
from delivery.outbox import sending
from delivery.outbox.circuit import TEST_EVENT
from delivery.outbox.state import app_verdicts_note, token_unreadable_note, tokens_readable_note
from mappings.fields import SecretUnreadable, secret_fingerprint
from mappings.models import App, Mapping, Platform
from trackerui.foundation.rate_limits import Rate, rate_limit_hit

TEST_EVENT_LABEL = "CB Tracker test event"
TEST_EVENT_FIELD = 5
TEST_EVENT_ID = "cb-tracker-test-event"
# An advertising id no real device has: "cb7e57" reads "CB test", the rest is a pattern.
TEST_DEVICE_ID = "cb7e57e0-0000-4000-8000-0000cb7e57e0"
TEST_LEGACY_UUID = "cb7e57cb7e57cb7e"
RATE_WINDOW_SECONDS = 60
TEST_DEVICE_OS = {Platform.IOS: "iOS 17.4", Platform.ANDROID: "Android 14", Platform.AMAZON: "Fire OS 8"}


@dataclass
class TestEventResult:
    """The exact request sent (token masked) and Chartboost's answer, or why there was none."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    source: str
    verdict: chartboost.Verdict
    latency_ms: int | None = None

    @property
    def delivered(self) -> bool:
        return self.verdict.outcome == chartboost.DELIVERED

    @property
    def answered(self) -> bool:
        return self.verdict.http_status is not None

    @property
    def level(self) -> str:
        """The panel's and badge's colour: ok when accepted; danger when refused or unreachable; warn when
        Chartboost answered without a verdict (a real delivery would be retried)."""
        if self.delivered:
            return "ok"
        if self.answered and self.verdict.outcome != chartboost.FAILED:
            return "warn"
        return "danger"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values, so the result can wait in the session for the page after the redirect."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TestEventResult:
        return cls(**{**values, "verdict": chartboost.Verdict(**values["verdict"])})


class TestEventRefused(Exception):
    """The test event was not sent; the message says why, in the customer's words."""


class TestEventLimited(TestEventRefused):
    """The app has sent as many test events as it may this minute."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TestEventUnsigned(TestEventRefused):
    """The app's token cannot be decrypted, so no request could be signed."""


def test_event_send(*, app: App) -> TestEventResult:
    """Sign and POST one synthetic event for the app, synchronously, and report what happened.

    Raises TestEventLimited over the app's limit (`TEST_EVENTS_PER_MINUTE`), and
    TestEventUnsigned when its token cannot be decrypted: then nothing is sent.
    """
    _rate_limit_take(app)
    mapping = app.mappings.filter(active=True).order_by("event_field").first()
    event = _synthetic_event(app)
    item = _item(mapping)
    delivery = Delivery(app=app, event=event, mapping=mapping, item=item, event_field=item["event_field"])
    try:
        request = sending.signed_request(event, app, [delivery])
    except SecretUnreadable as unreadable:
        token_unreadable_note(app_id=app.pk, fingerprint=secret_fingerprint(app.chartboost_app_token))
        raise TestEventUnsigned(str(unreadable)) from None
    tokens_readable_note({app.pk})
    verdict, latency_ms = chartboost.post(sending.CONNECTIONS, request, timeout=sending.request_timeout())
    # A test event is always sent, and its answer counts as a probe's: an answer closes an open circuit.
    app_verdicts_note(app.pk, [verdict], source=TEST_EVENT)
    return TestEventResult(
        url=request.url,
        headers=dict(request.headers),
        body=request.redacted_body,
        source=_source(mapping),
        verdict=verdict,
        latency_ms=latency_ms,
    )


def _rate_limit_take(app: App) -> None:
    """Count one test event for the app in the current minute, on the counter every limit shares
    (trackerui/foundation/rate_limits.py); TestEventLimited once over the limit.

    Each test event is a real request to Chartboost that the customer triggers by hand, so a few a
    minute are plenty; the limit keeps a stuck button or a script from hammering Chartboost in our name.
    """
    limit = settings.TEST_EVENTS_PER_MINUTE
    hit = rate_limit_hit(f"test-event:{app.pk}", Rate(limit=limit, window_seconds=RATE_WINDOW_SECONDS))
    if not hit.allowed:
        noun = "test event" if limit == 1 else "test events"
        raise TestEventLimited(
            f"This app may send {limit} {noun} a minute, and has sent them: try again in {hit.retry_after} s.",
            retry_after=hit.retry_after,
        )


def _synthetic_event(app: App) -> TrackedEvent:
    test_identifiers = {"ifa": TEST_DEVICE_ID, "gaid": TEST_DEVICE_ID, "uuid": TEST_LEGACY_UUID}
    identifiers = {key: test_identifiers[key] for key in chartboost.platform_identifiers(app.platform)}
    return TrackedEvent(
        app=app,
        event_id=TEST_EVENT_ID,
        name=TEST_EVENT_LABEL,
        # Now: Chartboost records the event's own time, and the signature covers it.
        timestamp=int(time.time()),
        platform=TEST_DEVICE_OS[app.platform],
        identifiers=identifiers,
    )


def _item(mapping: Mapping | None) -> dict[str, Any]:
    """What the first active mapping would send for an event at level 1, else a plain Event ID 5 item."""
    if mapping is None:
        return chartboost.track_info_item(
            event_label=TEST_EVENT_LABEL, event_field=TEST_EVENT_FIELD, main_level=1, sub_level=0,
            description=TEST_EVENT_LABEL,
        )
    properties = {name: value for name, value in ((mapping.main_level_property, 1),
                                                 (mapping.sub_level_property, 0)) if name}
    return track_item(mapping, properties)


def _source(mapping: Mapping | None) -> str:
    if mapping is None:
        return f"No active mapping yet, so a fixed Event ID {TEST_EVENT_FIELD} item labelled “{TEST_EVENT_LABEL}”."
    return f"The item your mapping of “{mapping.event_name}” sends as Event ID {mapping.event_field}, at level 1."
