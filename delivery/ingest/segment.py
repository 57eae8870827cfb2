"""Segment's tracking calls, read as our events: the one translation behind `/v1/track` and `/v1/batch`.

Segment's and RudderStack's SDKs and Webhooks destinations speak the Segment HTTP tracking API.
A `track` call becomes one event of the ingestion API (docs/design.md, "Segment-compatible
ingestion"), which `delivery/ingest/service.py::events_ingest` then checks and stores like any
other: what is wrong with a call (no `messageId`, no OS, an identifier missing) is left for that
one rule set to reject, so it is counted and shown with the other rejections. `identify`,
`screen`, `page`, `group` and `alias` calls carry nothing Chartboost reads, so they are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TRACK = "track"
# An Android ID (Settings.Secure.ANDROID_ID) is 64 bits written as 16 hex digits; anything else
# in `context.device.id` (an IDFV, an app's own id) is not what Chartboost's `uuid` means.
ANDROID_ID = re.compile(r"^[0-9a-fA-F]{16}$")


@dataclass
class Calls:
    """What a body sent: its calls, the context they share, and its `writeKey` when it names one."""

    calls: list[Any]
    context: dict[str, Any] = field(default_factory=dict)
    write_key: str | None = None


class NotCalls(ValueError):
    """The body is JSON, but not a call, a batch or a list of calls."""


def calls_read(document: Any, *, one_call: bool) -> Calls:
    """The calls of a `/v1/track` body (`one_call`) or a `/v1/batch` body.

    A batch is `{"batch": [...], "context": {...}}` (the top-level context goes under each
    call's own) or a bare list of calls, as Webhooks destinations send.
    """
    if one_call:
        if not isinstance(document, dict):
            raise NotCalls("The body must be a JSON object: one track call.")
        calls, context, write_key = [{**document, "type": TRACK}], {}, document.get("writeKey")
    elif isinstance(document, list):
        calls, context, write_key = document, {}, None
    elif isinstance(document, dict):
        calls, context, write_key = document.get("batch"), document.get("context"), document.get("writeKey")
        if not isinstance(calls, list):
            raise NotCalls('The body must be {"batch": [...]} or a JSON array of calls.')
    else:
        raise NotCalls('The body must be a JSON object ({"batch": [...]}) or a JSON array of calls.')
    return Calls(calls=calls, context=context if isinstance(context, dict) else {},
                 write_key=write_key if isinstance(write_key, str) and write_key else None)


def track_events(calls: Calls, *, app_platform: str, received_at: datetime) -> tuple[list[Any], int]:
    """The track calls as events of the ingestion API for an app on `app_platform`, and how many calls were ignored.

    A call that names no type is a track call: `/v1/track` does not ask for one.
    """
    events: list[Any] = []
    ignored = 0
    for call in calls.calls:
        if isinstance(call, dict) and call.get("type", TRACK) != TRACK:
            ignored += 1
            continue
        if isinstance(call, dict) and calls.context:
            call = {**call, "context": merged(calls.context, call.get("context"))}
        events.append(track_event(call, app_platform=app_platform, received_at=received_at))
    return events, ignored


def merged(under: dict[str, Any], over: Any) -> dict[str, Any]:
    """`over` laid on `under`, object by object: the call's own values win, the batch's fill the gaps."""
    if not isinstance(over, dict):
        return dict(under)
    result = dict(under)
    for key, value in over.items():
        result[key] = merged(result[key], value) if isinstance(result.get(key), dict) and isinstance(value, dict) \
            else value
    return result


def track_event(call: Any, *, app_platform: str, received_at: datetime) -> Any:
    """One track call as one event of the ingestion API; what is not a call is passed on, to be rejected."""
    if not isinstance(call, dict):
        return call
    context = _object(call.get("context"))
    device = _object(context.get("device"))
    os = _object(context.get("os"))
    event: dict[str, Any] = {
        "name": call.get("event"),
        "timestamp": event_timestamp(call, received_at),
        "platform": " ".join(str(part) for part in (os.get("name"), os.get("version")) if part not in (None, "")),
        "identifiers": device_identifiers(device, app_platform),
        "properties": call.get("properties"),
        "sdk_version": _object(context.get("library")).get("version"),
        "limit_ad_tracking": device.get("adTrackingEnabled") is False,
    }
    if call.get("messageId") is not None:
        event["event_id"] = call["messageId"]
    if not event["platform"]:
        del event["platform"]
    return event


def device_identifiers(device: dict[str, Any], app_platform: str) -> dict[str, Any]:
    """iOS: `ifa` is the advertising id. Android and Amazon: `gaid` is, and `uuid` the Android ID."""
    advertising_id = device.get("advertisingId")
    if app_platform == "ios":
        return {"ifa": advertising_id} if advertising_id not in (None, "") else {}
    identifiers: dict[str, Any] = {}
    if advertising_id not in (None, ""):
        identifiers["gaid"] = advertising_id
    device_id = device.get("id")
    if isinstance(device_id, str) and ANDROID_ID.match(device_id):
        identifiers["uuid"] = device_id.lower()
    return identifiers


def event_timestamp(call: dict[str, Any], received_at: datetime) -> Any:
    """Unix seconds: `timestamp`; else `originalTimestamp` less the sender's clock skew; else our receive time.

    The skew is what the device's clock said when it sent (`sentAt`) against when we received;
    a device whose clock is an hour fast stamps its events an hour late. A value that is not
    ISO-8601 is passed on as it is, for the event's checks to reject.
    """
    if call.get("timestamp") is not None:
        return _unix(call["timestamp"])
    original = call.get("originalTimestamp")
    if original is not None:
        original_at, sent_at = _datetime(original), _datetime(call.get("sentAt"))
        if original_at is None:
            return original
        if sent_at is None:
            return int(original_at.timestamp())
        try:
            return int((received_at - (sent_at - original_at)).timestamp())
        except OverflowError:
            return original
    return int(received_at.timestamp())


def _unix(value: Any) -> Any:
    when = _datetime(value)
    return value if when is None else int(when.timestamp())


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    # Without an offset, ISO-8601 says local time; a server has none of the sender's, so it is UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
