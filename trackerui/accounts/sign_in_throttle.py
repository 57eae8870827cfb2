"""Throttled sign-ins (django-axes): who counts, and what a locked-out client sees.

Axes records each failed sign-in in the database, so every web process shares the count.
The settings (trackerui/settings.py, "Sign-in throttling") say how many failures lock whom
out for how long; this module is where axes asks for the rest.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_message() -> str:
    return f"Too many failed sign-ins: try again in {lockout_minutes()} minutes."


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' check, for sign-ins that come with a request.

    Every sign-in form passes its request. Code that authenticates without one (the test
    client's `login`, a shell) has no client address to count, where axes would raise.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE): the admin's look on the admin's sign-in."""
    context = {"lockout_message": lockout_message(), "lockout_minutes": lockout_minutes()}
    if request.path == reverse("admin:login"):
        context |= admin.site.each_context(request)
        template = "admin/locked_out.html"
    else:
        template = "registration/locked_out.html"
    return render(request, template, context, status=settings.AXES_HTTP_RESPONSE_CODE)
