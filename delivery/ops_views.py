"""`/healthz` and `/metrics`: for load balancers, monitors and Prometheus (docs/design.md, "Operations").

Both read only our own tables (and the broker, for its check), so any web process on any
host answers the same. Neither needs a session. When `METRICS_TOKEN` is set, `/metrics` wants
it as a Bearer token, and `/healthz` tells the public only the status and each check's pass
or fail: the figures (backlog, paused apps, open circuits, the broker's kind, the worker's
last report) come with the token.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker

from delivery.metrics import backlog_read, metrics_text, worker_alive, worker_seconds_since_seen

logger = logging.getLogger(__name__)


def _timed(check: Any) -> dict[str, Any]:
    """Run one check; a failure is reported as such, never raised."""
    started = time.monotonic()
    try:
        figures = check()
        ok = figures.pop("ok", True)
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is a failed check
        logger.warning("Health check failed: %s", exc)
        figures, ok = {"error": type(exc).__name__}, False
    return {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1), **figures}


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker() -> dict[str, Any]:
    broker = get_broker()
    return {"ok": bool(broker.ping()), "kind": type(broker).__name__}


def _worker() -> dict[str, Any]:
    seconds = worker_seconds_since_seen(timezone.now())
    return {"ok": worker_alive(seconds), "seconds_since_seen": None if seconds is None else round(seconds, 1),
            "stale_after_seconds": settings.WORKER_STALE_SECONDS}


def _backlog() -> dict[str, Any]:
    backlog = backlog_read(timezone.now())
    # Figures only: a backlog or an open circuit never makes the service "down".
    return {"waiting": backlog.waiting, "oldest_due_seconds": round(backlog.oldest_due_seconds, 1),
            "paused_apps": backlog.paused_apps, "paused_waiting": backlog.paused_waiting,
            "open_circuits": backlog.open_circuits, "open_circuit_waiting": backlog.open_circuit_waiting}


def _may_read_figures(request: HttpRequest) -> bool:
    """Whether the request may see the figures: anyone without METRICS_TOKEN, else who sends it as a Bearer token."""
    if not settings.METRICS_TOKEN:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {settings.METRICS_TOKEN}".encode())


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    checks["worker"] = _timed(_worker) if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    checks["backlog"] = _timed(_backlog) if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    up = checks["database"]["ok"] and checks["broker"]["ok"] and checks["worker"]["ok"]
    if not _may_read_figures(request):
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse({"status": "ok" if up else "down", "checks": checks}, status=200 if up else 503)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_read_figures(request):
        response = HttpResponse("This endpoint wants Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
