"""Access checks shared by every dashboard page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trackerui.accounts.selectors import organization_for_request


def organization_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required, and the user must belong to an organization.

    A signed-in user who belongs to none gets a page that says so, rather than an
    empty dashboard or a crash: every customer object hangs off an organization.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if organization_for_request(request) is None:
            return render(request, "accounts/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
