"""The rate-limit headers of an API answer, as the IETF RateLimit header fields draft (revision 11) writes them.

    RateLimit-Policy: "api";q=1200;w=60     the policy: its quota per window of w seconds
    RateLimit: "api";r=1187;t=42            what is left of it, and seconds until the window ends

Whatever counts a request against a limit (trackerui/accounts/api_access.py::ApiKeyRateThrottle,
the write keys' limit in delivery/api_segment.py) notes the hit on the request with
`rate_limit_note`; `RateLimitHeadersMiddleware` writes the headers on whatever answer the
request gets, a 429 (which carries `Retry-After` too) or an error included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from trackerui.foundation.rate_limits import Hit, Rate

POLICY_HEADER = "RateLimit-Policy"
LIMIT_HEADER = "RateLimit"


@dataclass(frozen=True)
class RateLimitNote:
    """One limit a request counted against: its policy's name, the rate, and the hit."""

    policy: str
    rate: Rate
    hit: Hit

    def headers(self) -> dict[str, str]:
        # The policy name is a structured-field String (RFC 9651), hence the quotes.
        return {
            POLICY_HEADER: f'"{self.policy}";q={self.rate.limit};w={self.rate.window_seconds}',
            LIMIT_HEADER: f'"{self.policy}";r={self.hit.remaining};t={self.hit.retry_after}',
        }


def rate_limit_note(request: HttpRequest, *, policy: str, rate: Rate, hit: Hit) -> None:
    """Say that `request` counted against `policy`, for the middleware to write in the answer."""
    request.rate_limit_note = RateLimitNote(policy=policy, rate=rate, hit=hit)  # type: ignore[attr-defined]


class RateLimitHeadersMiddleware:
    """Writes `RateLimit-Policy` and `RateLimit` on the answer to a request that counted against a limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        note: RateLimitNote | None = getattr(request, "rate_limit_note", None)
        if note is not None:
            for name, value in note.headers().items():
                response[name] = value
        return response
