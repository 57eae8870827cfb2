"""`Idempotency-Key` on every POST under /api/v1/ but ingestion: a retried request is answered, not run twice.

The key is kept 24 hours per API key, or per signed-in user (`api_access.request_owner`):
- a new key is claimed by inserting its row (`IdempotentRequest`, unique per owner and key)
  before the view runs, so of two requests at once, on any web processes, exactly one runs;
- the same key with the same request (method, path and body) replays the first answer, its
  status and body, with `Idempotent-Replayed: true`;
- the same key with another request is refused (422); while the first still runs, 409.

An answer of 5xx or 429 is not kept: nothing was done, and the client should try again with the
same key. Ingestion opts out (`takes_idempotency_keys = False` on its views): its events carry
their own `event_id`, and a Segment call its `messageId`.

This is a middleware so that it covers every POST without a line in each view. It runs after
the session middleware, and authenticates the request with the view's own DRF authenticators,
which is how it knows the owner before the view runs; a request they refuse is left to the view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, status

from trackerui.accounts.api_access import request_owner
from trackerui.accounts.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_FOR = timedelta(hours=24)
# A claim still running this long after it was made belongs to a process that died mid-request
# (gunicorn's timeout is far shorter): the key may be claimed again.
ABANDONED_AFTER = timedelta(minutes=10)
PATH_PREFIX = "/api/v1/"

ViewFunc = Callable[..., HttpResponse]


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        claim: IdempotentRequest | None = getattr(request, "_idempotency_claim", None)
        if claim is not None:
            _answer_keep(claim, response)
        return response

    def process_view(self, request: HttpRequest, view_func: ViewFunc, view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        key = request.headers.get(HEADER)
        view_class = getattr(view_func, "cls", None)
        if (key is None or request.method != "POST" or not request.path.startswith(PATH_PREFIX)
                or view_class is None or not getattr(view_class, "takes_idempotency_keys", True)):
            return None
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            return JsonResponse({"detail": f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters."},
                                status=status.HTTP_400_BAD_REQUEST)
        # The body first: the session's CSRF check, run by the authenticators, reads a form body as a stream.
        fingerprint = request_fingerprint(request)
        owner = _owner(request, view_func, view_args, view_kwargs)
        if owner is None:
            return None
        answer, claim = idempotency_key_claim(owner=owner, key=key, fingerprint=fingerprint)
        if claim is not None:
            request._idempotency_claim = claim  # type: ignore[attr-defined]
        return answer


def request_fingerprint(request: HttpRequest) -> str:
    """What makes two requests the same: the method, the path and the body."""
    digest = hashlib.sha256(f"{request.method}\n{request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _owner(request: HttpRequest, view_func: ViewFunc, view_args: Any, view_kwargs: Any) -> str | None:
    """Who the view will see sending the request, by its own authenticators; None when they refuse it."""
    view = view_func.cls(**getattr(view_func, "initkwargs", {}))  # type: ignore[attr-defined]
    view.args, view.kwargs = view_args, view_kwargs
    drf_request = view.initialize_request(request, *view_args, **view_kwargs)
    try:
        return request_owner(drf_request)
    except exceptions.APIException:
        return None


def idempotency_key_claim(*, owner: str, key: str, fingerprint: str,
                          now: datetime | None = None) -> tuple[HttpResponse | None, IdempotentRequest | None]:
    """Claim the key for this request, or answer for it: (None, the claim) to run it, (an answer, None) not to."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return None, IdempotentRequest.objects.create(owner=owner, key=key, fingerprint=fingerprint,
                                                          created_at=now)
    except IntegrityError:
        pass
    earlier = IdempotentRequest.objects.filter(owner=owner, key=key).first()
    if earlier is None or _outdated(earlier, now):
        # Pruned meanwhile, past its 24 hours, or abandoned: claim it anew, unless another request just did.
        return _claim_again(earlier, owner=owner, key=key, fingerprint=fingerprint, now=now)
    if earlier.fingerprint != fingerprint:
        return JsonResponse(
            {"detail": f"This {HEADER} was used with another request (method, path or body). "
                       "Use a new key for a new request."},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        ), None
    if earlier.status == IdempotentRequest.Status.RUNNING:
        response = JsonResponse({"detail": f"A request with this {HEADER} is still running. Try again shortly."},
                                status=status.HTTP_409_CONFLICT)
        response["Retry-After"] = "1"
        return response, None
    return _replay(earlier), None


def _outdated(earlier: IdempotentRequest, now: datetime) -> bool:
    if earlier.created_at < now - KEPT_FOR:
        return True
    return earlier.status == IdempotentRequest.Status.RUNNING and earlier.created_at < now - ABANDONED_AFTER


def _claim_again(earlier: IdempotentRequest | None, *, owner: str, key: str, fingerprint: str,
                 now: datetime) -> tuple[HttpResponse | None, IdempotentRequest | None]:
    if earlier is None:
        try:
            with transaction.atomic():
                return None, IdempotentRequest.objects.create(owner=owner, key=key, fingerprint=fingerprint,
                                                              created_at=now)
        except IntegrityError:
            return _still_running(), None
    # Conditional on the row as we read it: of two requests taking it over, one wins.
    taken = IdempotentRequest.objects.filter(pk=earlier.pk, created_at=earlier.created_at).update(
        fingerprint=fingerprint, status=IdempotentRequest.Status.RUNNING, created_at=now, completed_at=None,
        response_status=None, response_content_type="", response_body="",
    )
    if not taken:
        return _still_running(), None
    earlier.refresh_from_db()
    return None, earlier


def _still_running() -> JsonResponse:
    return JsonResponse({"detail": f"A request with this {HEADER} is still running. Try again shortly."},
                        status=status.HTTP_409_CONFLICT)


def _replay(earlier: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(earlier.response_body, status=earlier.response_status,
                            content_type=earlier.response_content_type or None)
    response[REPLAYED_HEADER] = "true"
    return response


def _answer_keep(claim: IdempotentRequest, response: HttpResponse) -> None:
    """Keep the answer for replays; release the key when nothing was done (5xx, 429), so it may be sent again."""
    if response.status_code >= 500 or response.status_code == status.HTTP_429_TOO_MANY_REQUESTS \
            or response.streaming:
        IdempotentRequest.objects.filter(pk=claim.pk, created_at=claim.created_at).delete()
        return
    IdempotentRequest.objects.filter(pk=claim.pk, created_at=claim.created_at).update(
        status=IdempotentRequest.Status.COMPLETED, completed_at=timezone.now(),
        response_status=response.status_code, response_content_type=response.get("Content-Type", ""),
        response_body=response.content.decode("utf-8", errors="replace"),
    )


def idempotent_requests_prune(now: datetime | None = None) -> int:
    """Delete the keys older than 24 hours (the daily prune, delivery/history/retention.py); return how many."""
    cutoff = (now or timezone.now()) - KEPT_FOR
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
