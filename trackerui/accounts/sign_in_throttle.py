"""Throttled sign-ins: who is refused after failures, who is warned, slowed and told, and what they see.

Failures are counted on the counter every limit shares (trackerui/foundation/rate_limits.py), so every
web process on every host sees the same counts. The rule:

- After `SIGN_IN_FAILURE_LIMIT` (10) failures within a fixed `SIGN_IN_LOCKOUT_MINUTES` (15)
  window for one username from one client address, or from one address whatever the
  username, further tries from that pair or that address are refused for 15 minutes,
  with a page that says so. The last tries before that are warned ("2 tries left …").
- Failures for one username from many addresses never lock that user out: a stranger
  could otherwise lock anyone out, staff included. Once they reach the limit, sign-ins for
  that username are slowed (`SIGN_IN_SLOWDOWN_SECONDS` each) for 15 minutes and the user
  is told by e-mail, once in that time. The right password still signs them in.

The backend checks and counts for the dashboard's sign-in and the admin's alike, since both
authenticate with the request; the middleware turns a refused sign-in into the lockout page.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from trackerui.foundation.client_ip import client_ip
from trackerui.foundation.rate_limits import Rate, rate_limit_hit

logger = logging.getLogger(__name__)

# Warn from this many tries left before the pause.
WARN_WHEN_TRIES_LEFT = 2
LOCKED_OUT_STATUS = 429


def lockout_minutes() -> int:
    return settings.SIGN_IN_LOCKOUT_MINUTES


def _lockout_seconds() -> int:
    return settings.SIGN_IN_LOCKOUT_MINUTES * 60


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


def lockout_message(minutes_left: int | None = None) -> str:
    return f"Too many failed sign-ins: try again in {_minutes(minutes_left or lockout_minutes())}."


def _username_key(username: str) -> str:
    # Hashed, so the counters hold no usernames and keys stay short and safe for every backend.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _lock_keys(username: str, address: str) -> tuple[str, str]:
    """The pair's lock and the address's lock; each holds when it ends (Unix seconds)."""
    return f"sign-in:locked:pair:{_username_key(username)}:{address}", f"sign-in:locked:address:{address}"


def _slowed_key(username: str) -> str:
    return f"sign-in:slowed:{_username_key(username)}"


def sign_in_locked_until(*, username: str, address: str) -> float | None:
    """When the refusal of this username from this address ends, or None when it may try.

    A lock ends at the time it holds, whatever the cache's own expiry (a little later, to be safe).
    """
    now = time.time()
    ends = [float(end) for end in cache.get_many(_lock_keys(username, address)).values() if float(end) > now]
    return max(ends) if ends else None


def sign_in_failure_note(request: HttpRequest, *, username: str, address: str) -> None:
    """Count one failed sign-in: lock the pair or the address at the limit, warn before it, and
    slow the username and tell its user when many addresses fail against it."""
    rate = Rate(limit=settings.SIGN_IN_FAILURE_LIMIT, window_seconds=_lockout_seconds())
    user_key = _username_key(username)
    pair = rate_limit_hit(f"sign-in:pair:{user_key}:{address}", rate)
    per_address = rate_limit_hit(f"sign-in:address:{address}", rate)
    per_username = rate_limit_hit(f"sign-in:username:{user_key}", rate)
    now = time.time()
    ends = now + _lockout_seconds()
    for hit, lock_key in zip((pair, per_address), _lock_keys(username, address), strict=True):
        # A lock that already holds is not extended; one whose time is over is replaced.
        if hit.remaining == 0 and float(cache.get(lock_key) or 0) <= now:
            cache.set(lock_key, ends, timeout=_lockout_seconds() + 60)
    tries_left = min(pair.remaining, per_address.remaining)
    if 0 < tries_left <= WARN_WHEN_TRIES_LEFT:
        tries = "1 try" if tries_left == 1 else f"{tries_left} tries"
        messages.warning(request, f"{tries} left before sign-in is paused for {_minutes(lockout_minutes())}.")
    # `add` succeeds once per slowed period, so the user gets one mail for it.
    if per_username.remaining == 0 and cache.add(_slowed_key(username), ends, timeout=_lockout_seconds()):
        logger.warning("Sign-ins for one username slowed after %s failures from several addresses.", rate.limit)
        _failures_mail(username, failures=per_username.count)


def _failures_mail(username: str, *, failures: int) -> None:
    user = get_user_model()._default_manager.filter(username=username.strip(), is_active=True).first()
    if user is None or not user.email:
        return
    minutes = _minutes(lockout_minutes())
    send_mail(
        subject="Failed sign-ins to your CB Tracker account",
        message=(
            f"Hello {user.get_username()},\n\n"
            f"Someone tried to sign in as {user.get_username()} with a wrong password {failures} times "
            f"within {minutes}. Your account is not locked: your password still signs you in, though "
            f"sign-ins for your username are slowed for the next {minutes}.\n\n"
            "If this was you, there is nothing to do. If it was not, someone may be guessing your "
            "password: choose a long one that you use nowhere else.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
        # A mail server's trouble must not turn a sign-in into an error page.
        fail_silently=True,
    )


class SignInThrottleBackend(ModelBackend):
    """Django's username and password check, behind the sign-in limits.

    Code that authenticates without a request (the test client's `login`, a shell) has no
    client address to count, and is checked as by ModelBackend alone.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> AbstractBaseUser | None:
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_ip(request)
        locked_until = sign_in_locked_until(username=username, address=address)
        if locked_until is not None:
            # Tries during the pause are neither checked nor counted, so they do not extend it.
            request.sign_in_locked_until = locked_until  # type: ignore[attr-defined]
            raise PermissionDenied
        if cache.get(_slowed_key(username)) is not None:
            time.sleep(settings.SIGN_IN_SLOWDOWN_SECONDS)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failure_note(request, username=username, address=address)
        return user


class SignInLockoutMiddleware:
    """Answers a refused sign-in with the lockout page: the admin's look on the admin's sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        locked_until = getattr(request, "sign_in_locked_until", None)
        if locked_until is None:
            return response
        return lockout_response(request, locked_until=locked_until)


def lockout_response(request: HttpRequest, *, locked_until: float) -> HttpResponse:
    minutes_left = max(1, math.ceil((locked_until - time.time()) / 60))
    context = {"lockout_message": lockout_message(minutes_left), "lockout_minutes": lockout_minutes()}
    if request.path == reverse("admin:login"):
        context |= admin.site.each_context(request)
        template = "admin/locked_out.html"
    else:
        template = "registration/locked_out.html"
    response = render(request, template, context, status=LOCKED_OUT_STATUS)
    response["Retry-After"] = str(max(1, math.ceil(locked_until - time.time())))
    return response
