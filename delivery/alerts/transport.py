"""Sending one alert to its channel, and reading what the channel said.

Like our Chartboost requests (docs/design.md, "Answers"): a timeout, a refused connection,
HTTP 408, 429 or 5xx are worth another try; any other answer is final. A webhook is signed
the Standard Webhooks way: `webhook-id` (the same on every retry), `webhook-timestamp` and
`webhook-signature` = `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed by the
base64-decoded part of the channel's `whsec_` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import time
from dataclasses import dataclass
from typing import Any

import requests
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.mail import send_mail

from delivery.alerts import messages
from delivery.alerts.channels import WEBHOOK_SECRET_PREFIX, webhook_secret
from delivery.alerts.models import Alert, AlertChannel
from delivery.alerts.targets import TargetRefused, TargetUnresolved, email_addresses, url_target_check
from delivery.chartboost import DELIVERED, FAILED, RETRY

CONNECT_TIMEOUT_SECONDS = 5.0
ANSWER_LIMIT = 500
RETRYABLE_STATUSES = (408, 429)


@dataclass(frozen=True)
class ChannelAnswer:
    outcome: str
    answer: str
    http_status: int | None = None
    latency_ms: int | None = None


def webhook_signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, message_id: str, body: str, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {"Content-Type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_signature(secret, message_id, timestamp, body)}


def send_timeout() -> tuple[float, float]:
    return (min(CONNECT_TIMEOUT_SECONDS, settings.ALERT_SEND_TIMEOUT_SECONDS), settings.ALERT_SEND_TIMEOUT_SECONDS)


def longest_send_seconds() -> float:
    return sum(send_timeout())


def _http_outcome(status: int) -> str:
    if 200 <= status < 300:
        return DELIVERED
    if status >= 500 or status in RETRYABLE_STATUSES:
        return RETRY
    return FAILED


def _post(url: str, body: str, headers: dict[str, str]) -> ChannelAnswer:
    started = time.monotonic()
    try:
        # Checked again at send time: the host may resolve elsewhere now than when the channel was made.
        url = url_target_check(url)
    except TargetUnresolved as refused:
        return ChannelAnswer(RETRY, str(refused))
    except TargetRefused as refused:
        return ChannelAnswer(FAILED, f"Not sent: {refused}")
    try:
        response = requests.post(url, data=body.encode(), headers=headers, timeout=send_timeout(),
                                 allow_redirects=False)
    except requests.Timeout:
        return ChannelAnswer(RETRY, "Timed out waiting for the channel.", latency_ms=_since(started))
    except requests.RequestException as error:
        return ChannelAnswer(RETRY, f"Could not reach the channel ({type(error).__name__}).",
                             latency_ms=_since(started))
    said = response.text[:ANSWER_LIMIT].strip()
    answer = f"HTTP {response.status_code}" + (f": {said}" if said else "")
    return ChannelAnswer(_http_outcome(response.status_code), answer, http_status=response.status_code,
                         latency_ms=_since(started))


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _email(channel: AlertChannel, message: dict[str, Any]) -> ChannelAnswer:
    addresses = email_addresses(channel.target)
    started = time.monotonic()
    try:
        sent = send_mail(messages.email_subject(message), messages.email_text(message), settings.DEFAULT_FROM_EMAIL,
                         addresses)
    except (smtplib.SMTPException, OSError, ValueError, TypeError) as error:
        # Whatever EMAIL_BACKEND is set to, its failure is the channel's answer, retried like a timeout.
        return ChannelAnswer(RETRY, f"The mail server refused it ({type(error).__name__}: {error})"[:ANSWER_LIMIT],
                             latency_ms=_since(started))
    return ChannelAnswer(DELIVERED if sent else RETRY, f"Sent to {', '.join(addresses)}." if sent else "Not sent.",
                         latency_ms=_since(started))


def alert_transmit(alert: Alert) -> ChannelAnswer:
    """Send the alert to its channel once; never raises for the network or the mail server."""
    channel = alert.channel
    if channel.kind == AlertChannel.Kind.EMAIL:
        return _email(channel, alert.message)
    if channel.kind == AlertChannel.Kind.SLACK:
        return _post(channel.target, messages.webhook_body(messages.slack_body(alert.message)),
                     {"Content-Type": "application/json"})
    body = messages.webhook_body(alert.message)
    try:
        secret = webhook_secret(channel)
    except InvalidToken:
        return ChannelAnswer(FAILED, "Not sent: the channel's secret cannot be decrypted with TOKEN_ENCRYPTION_KEY; "
                                     "delete the channel and create it again.")
    return _post(channel.target, body, webhook_headers(secret, f"alert_{alert.pk}", body))
