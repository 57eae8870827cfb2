"""The dispatcher: the one loop that sends retries on time and sweeps up whatever was dropped.

Why a loop: django-q2 has no backoff and its scheduler ticks only about every 30 s
, so nothing scheduled through it can keep a 2-second retry. Instead one
long-running task, `dispatcher_run`, ticks every `TICK_SECONDS` for `RUN_SECONDS` and on
each tick calls `deliveries_dispatch_due()`, which claims whatever is due (retries whose
time has come, first sends whose queue message was lost, deliveries whose worker died and
whose lease ran out, apps switched back on) and queues it. Before it ends it hands over to a
successor it queues itself (also from `finally`), so the loop runs without a gap. It keeps
one worker busy; the others send.

Why a lease: any number of qclusters may run, but one loop is enough. The loop holds the
`WorkerLease` row "dispatcher" for `LEASE_SECONDS` and renews it every `RENEW_SECONDS`, each
time with a conditional UPDATE that only succeeds for the holder. A loop that finds it
has lost the lease stops. A loop that dies stops renewing, and its lease lapses within
seconds.

What starts a loop, and replaces a dead one:
- `dispatcher_ensure()` is called with every kick (`deliveries_kick`,
  i.e. whenever deliveries are created or sent again). It costs one indexed read while a
  loop is alive. When the lease has lapsed it queues a new loop, at most one per
  `START_WINDOW_SECONDS`, by taking the "dispatcher-start" row first.
- Every qcluster worker runs a watchdog thread (`dispatcher_watch`) that calls
  `dispatcher_ensure()` every `WATCH_SECONDS`: when the loop's host dies or is cut off, its lease
  lapses and an idle cluster elsewhere starts a new loop within seconds, not at the minute's
  schedule or the next kick.
- Every qcluster worker calls `dispatcher_ensure(after_restart=True)` when it starts, so
  a fresh cluster does not wait for traffic or the scheduler. Its lease row may still
  name a loop that died with the previous cluster; the loop queued then watches that
  lease, and takes it over as soon as it lapses instead of giving up. A start taken more than
  `START_SEEN_BY_NEW_WORKER_SECONDS` before may have queued its loop into a queue that has since
  lost it (a restarted Redis), so a new worker queues one anyway.
- A django-q2 Schedule (`SCHEDULE_NAME`, every minute, created after `migrate`) calls
  `dispatcher_ensure()` as the last line of defence.
Two loops that overlap for a moment are harmless: claims are conditional updates, so a
delivery is never held by both.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from delivery.models import WorkerLease
from delivery.outbox.claims import deliveries_dispatch_due, deliveries_queue_now, enqueue_sends
from delivery.outbox.state import new_lease_token

logger = logging.getLogger(__name__)

LEASE_NAME = "dispatcher"
START_NAME = "dispatcher-start"
RUN_TASK = "delivery.tasks.dispatcher_run"
ENSURE_TASK = "delivery.tasks.dispatcher_ensure"
SCHEDULE_NAME = "Keep the delivery dispatcher running"

TICK_SECONDS = 0.2
RUN_SECONDS = 50.0
LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.0
START_WINDOW_SECONDS = 15.0
# A start taken longer ago than this, seen by a worker that has just started, may have queued its
# loop into a queue that lost it (the Redis broker keeps nothing through a restart and has no
# receipts): the new worker starts a loop anyway. A running cluster picks a message up well
# within this, so the workers of one cluster starting together still queue one loop.
START_SEEN_BY_NEW_WORKER_SECONDS = 2.0
# Each worker's watchdog looks at the lease this often: one indexed read while the loop lives.
WATCH_SECONDS = 2.0


def _lapsed(now: datetime) -> Q:
    return Q(held_until__isnull=True) | Q(held_until__lt=now)


def _lease_rows() -> None:
    for name in (LEASE_NAME, START_NAME):
        WorkerLease.objects.get_or_create(name=name)


def _held_until() -> datetime | None:
    return WorkerLease.objects.filter(name=LEASE_NAME).values_list("held_until", flat=True).first()


def dispatcher_ensure(*, after_restart: bool = False) -> bool:
    """Queue a dispatcher loop unless one is alive. Returns whether one was queued."""
    if Conf.SYNC:
        # Tasks run inline in sync mode (tests): a 50-second loop would block the caller.
        return False
    now = timezone.now()
    held_until = _held_until()
    if held_until is not None and held_until >= now and not after_restart:
        return False
    _lease_rows()
    startable = _lapsed(now)
    if after_restart:
        startable |= Q(held_until__lt=now + timedelta(seconds=START_WINDOW_SECONDS - START_SEEN_BY_NEW_WORKER_SECONDS))
    with transaction.atomic():
        won = WorkerLease.objects.filter(name=START_NAME).filter(startable).update(
            holder="starting", held_until=now + timedelta(seconds=START_WINDOW_SECONDS)
        )
        if won:
            # With the ORM broker the message commits together with the start row.
            async_task(RUN_TASK, task_name=f"dispatcher-{new_lease_token()[:12]}", group="dispatcher")
    return bool(won)


def deliveries_kick(delivery_ids: list[int], *, leased: str = "") -> int:
    """Claim the given deliveries and queue them now; returns how many batches were queued.

    With `leased` they were created leased under that token (`claims.kick_lease`), which is queued
    as it is. Also makes sure the dispatcher runs, which sends whatever is left here on time.
    """
    dispatcher_ensure()
    if leased:
        enqueue_sends([leased])
        return 1
    return deliveries_queue_now(delivery_ids)


@dataclass(frozen=True)
class LoopTiming:
    """How long one loop runs before handing over, and how long its lease lasts (renewed every RENEW_SECONDS)."""

    run_seconds: float = RUN_SECONDS
    lease_seconds: float = LEASE_SECONDS


def dispatcher_run(handed_to: str | None = None, *, timing: LoopTiming = LoopTiming(),
                   also: Sequence[Callable[[], object]] = ()) -> None:
    """Run the loop for about `timing.run_seconds` if we get the lease, then hand over to a successor.

    `also` are further jobs run on every tick, after the deliveries' (alerts, from delivery/tasks.py,
    which stand above this module): one loop keeps the time for all of them.
    """
    holder = handed_to or new_lease_token()
    if not (_lease_take(holder, timing, handed_to=handed_to) or _lease_take_when_lapsed(holder, timing)):
        _start_row_release()
        return
    _start_row_release()
    try:
        _loop(holder, timing, also)
    finally:
        _hand_over(holder)


def _lease_take(holder: str, timing: LoopTiming, *, handed_to: str | None = None) -> bool:
    now = timezone.now()
    condition = _lapsed(now)
    if handed_to:
        condition |= Q(holder=handed_to)
    _lease_rows()
    return bool(
        WorkerLease.objects.filter(name=LEASE_NAME)
        .filter(condition)
        .update(holder=holder, held_until=now + timedelta(seconds=timing.lease_seconds), renewed_at=now)
    )


def _lease_take_when_lapsed(holder: str, timing: LoopTiming) -> bool:
    """Watch a held lease: give way if its holder renews it, take it over if it lapses."""
    seen = _held_until()
    deadline = time.monotonic() + timing.lease_seconds + RENEW_SECONDS
    while time.monotonic() < deadline:
        time.sleep(TICK_SECONDS)
        if _lease_take(holder, timing):
            return True
        if _held_until() != seen:
            return False
    return False


def _lease_renew(holder: str, timing: LoopTiming) -> bool:
    now = timezone.now()
    return bool(
        WorkerLease.objects.filter(name=LEASE_NAME, holder=holder).update(
            held_until=now + timedelta(seconds=timing.lease_seconds), renewed_at=now
        )
    )


def _start_row_release() -> None:
    WorkerLease.objects.filter(name=START_NAME).update(holder="", held_until=None)


def _loop(holder: str, timing: LoopTiming, also: Sequence[Callable[[], object]] = ()) -> None:
    ends = time.monotonic() + timing.run_seconds
    renewed = time.monotonic()
    while (tick := time.monotonic()) < ends:
        try:
            if tick - renewed >= RENEW_SECONDS:
                if not _lease_renew(holder, timing):
                    logger.warning("Dispatcher %s lost its lease to another; stopping.", holder)
                    return
                renewed = tick
            deliveries_dispatch_due()
            for job in also:
                job()
        except DatabaseError:
            # A locked or briefly unavailable database must not stop retries: try again next tick,
            # on a new connection if this one broke (a restarted server closes every connection, and
            # Django replaces a broken one only between requests, which a 50-second task never reaches).
            logger.exception("Dispatcher tick failed; trying again.")
            close_old_connections()
        time.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - tick)))


def _hand_over(holder: str) -> None:
    """Pass the lease to a successor and queue it, in one transaction, if we still hold it."""
    successor = new_lease_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            kept = WorkerLease.objects.filter(name=LEASE_NAME, holder=holder).update(
                holder=successor, held_until=now + timedelta(seconds=START_WINDOW_SECONDS), renewed_at=now
            )
            if kept:
                async_task(RUN_TASK, successor, task_name=f"dispatcher-{successor[:12]}", group="dispatcher")
    except DatabaseError:
        # The lease lapses within seconds and the next kick, worker start or schedule starts a loop.
        logger.exception("Dispatcher could not hand over; a new one starts once its lease lapses.")


def dispatcher_ensure_at_worker_start(**kwargs: Any) -> None:
    """django-q2 `post_spawn`: a worker has started; make sure a dispatcher runs."""
    try:
        dispatcher_ensure(after_restart=True)
    except DatabaseError:
        # Before `migrate` there are no tables yet; the schedule or the next kick will do it.
        logger.warning("Could not check the dispatcher at worker start.", exc_info=True)


def dispatcher_watch_at_worker_start(**kwargs: Any) -> None:
    """django-q2 `post_spawn`: start the worker's watchdog thread, in a cluster's worker process only
    (django-q2 also runs its worker function inline, in the caller's process, for a task run `sync`)."""
    if multiprocessing.current_process().name == "MainProcess":
        return
    threading.Thread(target=dispatcher_watch, name="dispatcher-watch", daemon=True).start()


def dispatcher_watch(*, every: float = WATCH_SECONDS, stop: threading.Event | None = None) -> None:
    """A worker's watchdog: `dispatcher_ensure()` every `every` seconds until `stop` is set (a daemon
    thread ends with its worker process)."""
    stop = stop or threading.Event()
    while not stop.wait(every):
        try:
            dispatcher_ensure()
        except DatabaseError:
            # The database is restarting, say: look again on a fresh connection next time.
            logger.warning("The dispatcher watchdog could not look at the lease.", exc_info=True)
            close_old_connections()
