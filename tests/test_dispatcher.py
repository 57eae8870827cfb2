"""The dispatcher (delivery/outbox/dispatcher.py): one loop, started on demand, that sweeps up what is due.

These run the real loop in-process for a fraction of a second (a short `LoopTiming`) and
then drain the real queue messages it wrote, as a worker would.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule
from pytest_django import DjangoAssertNumQueries, Settings

from delivery.models import AppSendingState, Delivery, WorkerLease
from delivery.outbox import claims, dispatcher, state
from delivery.outbox.claims import SEND_TASK, deliveries_dispatch_due
from delivery.outbox.dispatcher import deliveries_kick
from delivery.sandbox import ChartboostSandbox
from delivery.schedules import schedules_install
from mappings.models import App
from mappings.services import app_update
from tests.factories import AppFactory, DeliveryFactory, TrackedEventFactory
from tests.live_receiver import queued, queued_take, run_queued_sends

# A loop of a fraction of a second, so the tests see a whole run and its hand-over.
SHORT = dispatcher.LoopTiming(run_seconds=0.3)
SHORT_LEASE = dispatcher.LoopTiming(run_seconds=0.3, lease_seconds=1.0)


@pytest.fixture
def app(db: None) -> App:
    return AppFactory()


def due_delivery(app: App) -> Delivery:
    return DeliveryFactory(event=TrackedEventFactory(app=app), next_attempt_at=timezone.now())


def run_queued_dispatcher() -> None:
    """Run the successor the last loop queued, as a worker would."""
    (task,) = queued_take(dispatcher.RUN_TASK)
    dispatcher.dispatcher_run(*task["args"], timing=SHORT)


def hold_lease(holder: str, seconds: float) -> None:
    held_until = timezone.now() + timedelta(seconds=seconds)
    WorkerLease.objects.update_or_create(
        name=dispatcher.LEASE_NAME, defaults={"holder": holder, "held_until": held_until}
    )


def test_a_delivery_whose_queue_message_was_lost_is_sent_once_its_lease_runs_out(
    chartboost_sandbox: ChartboostSandbox, app: App, settings: Settings
) -> None:
    delivery = due_delivery(app)
    deliveries_kick([delivery.pk])
    # The queue message is lost: no worker will ever run it.
    assert len(queued_take(SEND_TASK)) == 1

    run_queued_dispatcher()
    run_queued_sends()
    assert not chartboost_sandbox.received, "the lease still holds: nothing to send yet"

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)):
        run_queued_dispatcher()
        run_queued_sends()

    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(chartboost_sandbox.received) == 1


def test_deliveries_of_a_switched_off_app_wait_and_go_out_at_the_next_tick_once_it_is_on(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    app_update(app=app, delivery_enabled=False)
    delivery = due_delivery(app)

    dispatcher.dispatcher_run(timing=SHORT)
    assert run_queued_sends() == 0
    delivery.refresh_from_db()
    assert delivery.status == "pending"

    app_update(app=app, delivery_enabled=True)
    run_queued_dispatcher()
    assert run_queued_sends() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_the_loop_hands_its_lease_to_a_successor_it_queues_itself(app: App) -> None:
    dispatcher.dispatcher_run(timing=SHORT)

    (task,) = queued(dispatcher.RUN_TASK)
    (successor,) = task["args"]
    lease = WorkerLease.objects.get(name=dispatcher.LEASE_NAME)
    assert lease.holder == successor
    assert lease.held_until > timezone.now()

    run_queued_dispatcher()
    (next_task,) = queued(dispatcher.RUN_TASK)
    assert next_task["args"] != (successor,)


def test_a_dispatcher_that_died_is_replaced_as_soon_as_its_lease_lapses(
    app: App
) -> None:
    hold_lease("died-mid-loop", seconds=1.0)

    started = time.monotonic()
    dispatcher.dispatcher_run(timing=SHORT_LEASE)
    elapsed = time.monotonic() - started

    # About 1 s watching the dead lease, then the 0.3 s loop.
    assert 1.0 <= elapsed < 2.5
    (task,) = queued(dispatcher.RUN_TASK)
    assert WorkerLease.objects.get(name=dispatcher.LEASE_NAME).holder == task["args"][0]


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_that_keeps_renewing_its_lease_is_left_alone() -> None:
    hold_lease("alive", seconds=1.0)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(0.2):
            hold_lease("alive", seconds=1.0)
        connection.close()

    renewer = threading.Thread(target=renew)
    renewer.start()
    try:
        started = time.monotonic()
        dispatcher.dispatcher_run(timing=SHORT_LEASE)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        renewer.join()

    assert elapsed < 1.0
    assert WorkerLease.objects.get(name=dispatcher.LEASE_NAME).holder == "alive"
    assert queued(dispatcher.RUN_TASK) == []


def test_ensure_queues_one_dispatcher_however_often_it_is_called(db: None) -> None:
    results = [dispatcher.dispatcher_ensure() for _ in range(5)]
    assert results == [True, False, False, False, False]
    assert len(queued(dispatcher.RUN_TASK)) == 1


def test_ensure_queues_nothing_while_a_dispatcher_holds_the_lease(db: None) -> None:
    hold_lease("alive", seconds=5)
    assert dispatcher.dispatcher_ensure() is False
    assert queued(dispatcher.RUN_TASK) == []


def test_a_starting_worker_queues_a_dispatcher_even_while_the_lease_looks_held(db: None) -> None:
    # The holder may have died with the previous cluster; the dispatcher queued here finds out.
    hold_lease("maybe-dead", seconds=5)
    dispatcher.dispatcher_ensure_at_worker_start(sender="django_q", proc_name="Process-1")
    assert len(queued(dispatcher.RUN_TASK)) == 1


class _TicksThenStops(threading.Event):
    """A watchdog's stop event that lets `ticks` waits time out, then stops it."""

    def __init__(self, ticks: int) -> None:
        super().__init__()
        self.ticks = ticks
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return len(self.waits) > self.ticks


def test_the_watchdog_replaces_a_dead_loop_once_its_lease_lapses_without_a_kick(db: None) -> None:
    # The loop's host died: its lease still holds for a moment, then lapses.
    hold_lease("died-with-its-host", seconds=3)
    stop = _TicksThenStops(ticks=1)
    dispatcher.dispatcher_watch(every=2.0, stop=stop)
    assert queued(dispatcher.RUN_TASK) == [], "the lease still holds: the loop may be alive"

    with time_machine.travel(timezone.now() + timedelta(seconds=4)):
        dispatcher.dispatcher_watch(every=2.0, stop=_TicksThenStops(ticks=2))
    assert len(queued(dispatcher.RUN_TASK)) == 1, "one loop queued, however many ticks see the lapsed lease"
    assert stop.waits == [2.0, 2.0]


def test_kicking_deliveries_makes_sure_a_dispatcher_runs(app: App) -> None:
    deliveries_kick([due_delivery(app).pk])
    assert len(queued(dispatcher.RUN_TASK)) == 1


def test_migrate_installs_a_schedule_that_checks_on_the_dispatcher_every_minute(db: None) -> None:
    assert Schedule.objects.filter(name=dispatcher.SCHEDULE_NAME).exists()
    # Migrating again keeps the one schedule.
    schedules_install(using="default")
    (schedule,) = Schedule.objects.filter(name=dispatcher.SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "delivery.tasks.dispatcher_ensure", Schedule.MINUTES, 1, -1
    )


def test_a_claim_takes_whole_events_so_their_deliveries_share_one_request(app: App) -> None:
    from tests.live_receiver import deliveries_claim

    events = [TrackedEventFactory(app=app) for _ in range(3)]
    for event in events:
        for field in (1, 3, 4):
            DeliveryFactory(event=event, event_field=field, next_attempt_at=timezone.now())
    # Four rows reach into a second event: both events are taken whole, all six rows.
    first = deliveries_claim(limit=4)
    assert Delivery.objects.filter(lease_token=first).count() == 6
    second = deliveries_claim(limit=4)
    assert deliveries_claim(limit=4) is None
    tokens_per_event = {
        event.pk: set(Delivery.objects.filter(event=event).values_list("lease_token", flat=True)) for event in events
    }
    assert all(len(tokens) == 1 for tokens in tokens_per_event.values())
    assert set(Delivery.objects.values_list("lease_token", flat=True)) == {first, second}


def test_a_kick_of_a_large_batch_never_splits_an_event(app: App) -> None:
    ids = []
    for _ in range(70):
        event = TrackedEventFactory(app=app)
        ids += [DeliveryFactory(event=event, event_field=f, next_attempt_at=timezone.now()).pk for f in (1, 2, 5)]
    deliveries_kick(ids)
    by_event: dict[int, set[str]] = {}
    for event_id, token in Delivery.objects.values_list("event_id", "lease_token"):
        by_event.setdefault(event_id, set()).add(token)
    assert len(by_event) == 70
    assert all(len(t) == 1 and "" not in t for t in by_event.values())


def test_rows_another_worker_leased_after_they_were_read_are_not_claimed_again(
    app: App, django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    """The claiming UPDATE checks each row's own lease as it writes it: a worker that read the due
    events a moment before another leased them takes nothing."""
    delivery = due_delivery(app)
    now = timezone.now()
    read_by_first = [delivery.event_id]
    second = state.deliveries_claim_events(read_by_first, now)
    assert second

    with django_assert_max_num_queries(1):
        assert state.deliveries_claim_events(read_by_first, now) is None
    assert Delivery.objects.get(pk=delivery.pk).lease_token == second


def test_claiming_an_apps_due_rows_is_one_read_and_one_update(
    app: App, django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for _ in range(5):
        due_delivery(app)
    with django_assert_max_num_queries(2):
        token, seen = state.deliveries_claim_due(app_id=app.pk, now=timezone.now(), limit=100)
    assert seen == 5
    assert Delivery.objects.filter(lease_token=token).count() == 5


def test_a_kick_takes_the_whole_events_it_was_given_and_leaves_other_due_deliveries_to_the_dispatcher(
    app: App,
) -> None:
    other = due_delivery(app)
    event = TrackedEventFactory(app=app)
    ids = [DeliveryFactory(event=event, event_field=field, next_attempt_at=timezone.now()).pk for field in (1, 2)]
    assert deliveries_kick(ids[:1]) == 1
    (token,) = [task["args"][0] for task in queued(SEND_TASK)]
    assert set(Delivery.objects.filter(pk__in=ids).values_list("lease_token", flat=True)) == {token}
    assert Delivery.objects.get(pk=other.pk).lease_token == ""


def test_a_kick_queues_one_message_for_everything_one_ingest_call_made(app: App) -> None:
    ids = []
    for _ in range(70):
        event = TrackedEventFactory(app=app)
        ids += [DeliveryFactory(event=event, event_field=f, next_attempt_at=timezone.now()).pk for f in (1, 2, 5)]
    assert deliveries_kick(ids) == 1
    tokens = [task["args"][0] for task in queued(SEND_TASK)]
    assert [Delivery.objects.filter(lease_token=token).count() for token in tokens] == [210]


def test_a_tick_costs_the_same_however_large_a_paused_or_tripped_apps_backlog(app: App) -> None:
    paused, tripped = AppFactory(delivery_enabled=False), AppFactory()

    def backlog(size: int) -> None:
        for owner in (paused, tripped):
            for _ in range(size):
                due_delivery(owner)
        AppSendingState.objects.filter(app=tripped).update(circuit="open",
                                                           next_probe_at=timezone.now() + timedelta(hours=1))

    def tick_queries() -> int:
        due_delivery(app)
        with CaptureQueriesContext(connection) as queries:
            deliveries_dispatch_due()
        return len(queries.captured_queries)

    backlog(3)
    small = tick_queries()
    backlog(300)
    assert tick_queries() == small
    assert not Delivery.objects.filter(app__in=[paused, tripped]).exclude(lease_token="").exists()



def test_what_an_archived_app_still_has_waiting_ends_failed_at_the_next_tick(app: App) -> None:
    from trackerui.dashboard.services import app_archive

    app_archive(app=app)
    # As an ingest that raced the archiving would have left it.
    stray = due_delivery(app)

    deliveries_dispatch_due()

    stray.refresh_from_db()
    assert (stray.status, stray.reason, stray.next_attempt_at) == ("failed", "app deleted", None)
    assert queued(SEND_TASK) == []


def test_one_message_starting_a_sender_is_on_its_way_at_a_time_whatever_the_queue_shows(db: None) -> None:
    """A cluster takes messages out of Redis ahead of its workers, where the queue's length no longer
    counts them: the sender-start row, not the queue, says one is on its way."""

    def sender_starts() -> int:
        return len([task for task in queued(SEND_TASK) if task["kwargs"].get("keep_sending") and not task["args"]])

    claims.senders_start_if_short(active=1)
    queued_take(SEND_TASK)  # taken by a cluster ahead of its workers
    claims.senders_start_if_short(active=1)
    assert sender_starts() == 0, "the first is still on its way"

    claims.sender_started()
    claims.senders_start_if_short(active=1)
    assert sender_starts() == 1

    queued_take(SEND_TASK)
    with time_machine.travel(timezone.now() + timedelta(seconds=claims.SENDER_START_SECONDS + 1)):
        claims.senders_start_if_short(active=1)
    assert sender_starts() == 1, "a message lost with its broker does not stop senders starting"

    queued_take(SEND_TASK)
    claims.sender_started()
    claims.senders_start_if_short(active=claims.senders_wanted())
    assert sender_starts() == 0, "enough senders are active"


def test_the_watchdog_starts_in_a_clusters_worker_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(dispatcher.threading, "Thread", lambda **kwargs: type(
        "T", (), {"start": lambda self: started.append(kwargs["name"])})())
    dispatcher.dispatcher_watch_at_worker_start(sender="django_q", proc_name="MainProcess")
    assert started == [], "a task run inline in this process starts no thread"

    monkeypatch.setattr(dispatcher.multiprocessing, "current_process", lambda: type("P", (), {"name": "Process-1"})())
    dispatcher.dispatcher_watch_at_worker_start(sender="django_q", proc_name="Process-1")
    assert started == ["dispatcher-watch"]
