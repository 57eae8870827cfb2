"""Chartboost's level-tracking wire format: the request body, its signature, and what an answer means.

Read this next to Chartboost's level-tracking partner document and docs/design.md. It has no Django in it
on purpose, so it can be read and tested alone; `delivery.outbox.sending` does the bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, TimeoutError

DATA_TYPE = "level_info"
DELIVERED: Literal["delivered"] = "delivered"
RETRY: Literal["retry"] = "retry"
FAILED: Literal["failed"] = "failed"
Outcome = Literal["delivered", "retry", "failed"]

# The identifiers Chartboost reads per platform: `ifa` on iOS, `gaid` and/or `uuid` elsewhere.
_IDENTIFIER_KEYS: dict[str, tuple[str, ...]] = {
    "ios": ("ifa",),
    "android": ("gaid", "uuid"),
    "amazon": ("gaid", "uuid"),
}
# What a stored request shows of the token: the same hint pages show, never the whole secret.
TOKEN_HINT_LENGTH = 9
# Enough of an unexpected answer to diagnose it, without storing whatever a proxy sends back.
RESPONSE_BODY_LIMIT = 2000

# The retry schedule: 2, 4, 8 and 16 s after the 1st to 4th failed attempt (from the
# reference), then doubling from 32 s, never waiting longer than 15 minutes.
RETRY_DELAY_CAP_SECONDS = 15 * 60


def platform_identifiers(app_platform: str) -> tuple[str, ...]:
    """The identifiers Chartboost reads from an app of this platform (ios, android, amazon), in the order
    that picks a device's identity: what ingestion keeps, what a request sends and what the test event
    carries."""
    return _IDENTIFIER_KEYS[app_platform]


def signature(app_id: str, app_token: str, timestamp: int) -> str:
    """The X-Chartboost-Signature header. It covers app, token and the event's timestamp, not the body."""
    canonical = f"action:pia;app:{app_id};token:{app_token};timestamp:{timestamp};"
    return hashlib.sha256(canonical.encode()).hexdigest()


def track_info_item(
    *, event_label: str, event_field: int, main_level: int, sub_level: int, description: str
) -> dict[str, Any]:
    return {
        "event_label": event_label,
        "event_field": event_field,
        "main_level": main_level,
        "sub_level": sub_level,
        "description": description,
        "data_type": DATA_TYPE,
    }


def request_body(
    *,
    items: Iterable[Mapping[str, Any]],
    app_platform: str,
    platform: str,
    timestamp: int,
    identifiers: Mapping[str, str],
    token: str,
    party: str,
    sdk_version: str = "",
) -> dict[str, Any]:
    """The JSON body: exactly the reference's keys, and `sdk_version` only when the event had one.

    `app_platform` is our app's platform (ios, android, amazon) and picks the identifiers
    Chartboost reads; `platform` is the device OS the event reported ("iOS 17.4").
    """
    body: dict[str, Any] = {
        "track_info": [dict(item) for item in items],
        "platform": platform,
        "timestamp": timestamp,
        "identifiers": {
            key: identifiers[key] for key in platform_identifiers(app_platform) if identifiers.get(key)
        },
        "token": token,
        "party": party,
    }
    if sdk_version:
        body["sdk_version"] = sdk_version
    return body


def request_headers(*, app_id: str, app_token: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Chartboost-App": app_id,
        "X-Chartboost-Signature": signature(app_id, app_token, timestamp),
    }


def redact_token(token: str) -> str:
    # mappings.fields.token_hint does the same for pages; this module stays free of Django, so it cannot use it.
    return f"…{token[-TOKEN_HINT_LENGTH:]}" if token else ""


def redact_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body as we store and show it: the token masked, as a delivery log must never hold it."""
    redacted = dict(body)
    if "token" in redacted:
        redacted["token"] = redact_token(str(redacted["token"]))
    return redacted


@dataclass(frozen=True)
class SignedRequest:
    """One POST to Chartboost: what goes on the wire, and the copy safe to store."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def data(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def redacted_body(self) -> dict[str, Any]:
        return redact_body(self.body)


@dataclass(frozen=True)
class Verdict:
    """What one attempt came to, and everything about it worth keeping."""

    outcome: Outcome
    http_status: int | None = None
    response_status: int | None = None
    response_message: str = ""
    response_body: str = ""
    error: str = ""
    hint: str = ""
    # Chartboost said "slow down" (status 429): retried, and the app pauses for `pause_seconds`
    # (its Retry-After) when it gave one.
    throttled: bool = False
    pause_seconds: float | None = None

    def summary(self) -> str:
        """One line for a delivery's `reason`: what Chartboost said, or what went wrong."""
        if self.response_status is not None:
            said = f"Chartboost answered status {self.response_status}"
            if self.response_message:
                said += f" “{self.response_message}”"
        else:
            said = self.error
        return f"{said}: {self.hint}" if self.hint else said


def hint_for(status: int, app_id: str) -> str:
    """A plain-English next step for a status Chartboost will not change its mind about."""
    if status in (401, 403):
        return f"check the app token, and that it belongs to Chartboost app ID {app_id}"
    if status == 404:
        return f"Chartboost does not know app ID {app_id}: check the app ID"
    if status == 400:
        return (
            "Chartboost found the request malformed: check the mapping (Event ID, levels, label, "
            "description) and the event's identifiers"
        )
    return "Chartboost refused the event: see its message"


def read_answer(http_status: int, text: str, *, app_id: str, retry_after_header: str | None = None) -> Verdict:
    """Classify an HTTP answer (docs/design.md, "Answers")."""
    response_body = text[:RESPONSE_BODY_LIMIT]
    pause = parse_retry_after(retry_after_header)
    if http_status == 429:
        return Verdict(RETRY, http_status=http_status, response_body=response_body, throttled=True,
                       pause_seconds=pause, error="Chartboost asked us to slow down (HTTP 429)")
    if http_status >= 500:
        return Verdict(RETRY, http_status=http_status, response_body=response_body,
                       error=f"Chartboost answered HTTP {http_status}")
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    status = answer.get("status") if isinstance(answer, dict) else None
    # A body we cannot read says nothing about the event, so it is worth another try.
    if not isinstance(status, int) or isinstance(status, bool):
        return Verdict(RETRY, http_status=http_status, response_body=response_body,
                       error=f"Chartboost's answer (HTTP {http_status}) is not the JSON status it always sends")
    message = answer.get("message")
    message = message if isinstance(message, str) else ""
    known = {"http_status": http_status, "response_status": status,
             "response_message": message, "response_body": response_body}
    # Chartboost answers HTTP 200 even for errors: the JSON `status` is the answer.
    if status >= 500:
        return Verdict(RETRY, **known, error=f"Chartboost answered status {status}")
    if status == 200 and http_status == 200:
        return Verdict(DELIVERED, **known)
    if status == 200:
        return Verdict(RETRY, **known, error=f"Chartboost answered status 200 with HTTP {http_status}")
    # "Slow down", not "no": retried after a pause, and it says nothing about the app's health.
    if status == 429:
        return Verdict(RETRY, **known, throttled=True, pause_seconds=pause,
                       error="Chartboost asked us to slow down (status 429)")
    return Verdict(FAILED, **known, hint=hint_for(status, app_id))


def post(pool: urllib3.PoolManager, request: SignedRequest, *, timeout: tuple[float, float]) -> tuple[Verdict, int]:
    """Send one request over `pool` (keep-alive connections, no retries of its own: they are ours to
    decide); return its verdict and latency in milliseconds. Never raises for the network.

    urllib3 rather than requests: it takes under half the CPU per request (0.41 ms against 1.07 ms,
    measured), and a worker sending dozens of requests at once is bound by that CPU.
    """
    started = time.monotonic()
    app_id = request.headers["X-Chartboost-App"]
    try:
        response = pool.request(
            "POST", request.url, body=request.data, headers=request.headers, redirect=False, retries=False,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
        )
        verdict = read_answer(response.status, response.data.decode("utf-8", "replace"), app_id=app_id,
                              retry_after_header=response.headers.get("Retry-After"))
    # Not being able to connect is a kind of connect timeout to urllib3; to us it is a refusal.
    except (NewConnectionError, ProtocolError) as exc:
        verdict = Verdict(RETRY, error=f"Could not connect to Chartboost ({_describe('ConnectionError', exc)})")
    except TimeoutError as exc:
        verdict = Verdict(RETRY, error=f"Timed out waiting for Chartboost ({_describe(type(exc).__name__, exc)})")
    except HTTPError as exc:
        verdict = Verdict(RETRY, error=f"The request to Chartboost failed ({_describe(type(exc).__name__, exc)})")
    return verdict, round((time.monotonic() - started) * 1000)


def _describe(kind: str, exc: Exception) -> str:
    return f"{kind}: {exc}"[:500]


def retry_delay(failed_attempts: int) -> int:
    """Seconds to wait after the n-th failed attempt: 2, 4, 8, 16, 32, ... up to 15 minutes."""
    return min(2 ** max(failed_attempts, 1), RETRY_DELAY_CAP_SECONDS)


def retry_after(
    *, failed_attempts: int, seconds_since_first_attempt: float, max_age: int, pause: float | None = None
) -> int | None:
    """The wait before the next attempt, or None once `max_age` after the window's first attempt is reached.

    When the scheduled wait would overshoot `max_age`, the last attempt is moved up to
    land at `max_age`, so the whole window is used. A `pause` Chartboost asked for (429
    with Retry-After) lengthens the wait, never beyond the window.
    """
    remaining = int(max_age - seconds_since_first_attempt)
    if remaining < 1:
        return None
    delay = max(retry_delay(failed_attempts), math.ceil(pause or 0))
    return min(delay, remaining)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None when absent or in another form."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None
