"""A cost that cannot creep back: the queries of the hot paths do not grow with the work.

An ingest call, a send batch's answers, a dispatcher tick and a sender's claim each take as
many queries for one event or delivery as for hundreds. The bound is measured from the small
case, so the tests hold on SQLite and on PostgreSQL with Redis alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from delivery import chartboost
from delivery.models import Delivery
from delivery.outbox import claims, state
from delivery.outbox.sending import deliveries_send, signed_request
from delivery.sandbox import ChartboostSandbox
from mappings.models import App
from tests.api_helpers import api_client_for
from tests.factories import DeliveryFactory, MappingFactory, TrackedEventFactory
from tests.live_receiver import deliveries_claim

pytestmark = pytest.mark.django_db


def queries_of(action: Callable[[], object]) -> list[str]:
    """The statements `action` ran, each cut to its start (enough to tell them apart in a failure)."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return [query["sql"][:90] for query in captured.captured_queries]


def events(tag: int, count: int, *, devices_of: int | None = None, level_above: int = 0) -> str:
    """`count` events, each of a device of its own (so each raises a level): new devices, or those
    of the events of tag `devices_of`, each at a level `level_above` higher than they had then."""
    now = int(timezone.now().timestamp()) - 60
    device_tag = tag if devices_of is None else devices_of
    return json.dumps({"events": [
        {"event_id": f"{tag}-{n}", "name": "level_up", "timestamp": now, "platform": "iOS 17.4",
         "identifiers": {"ifa": f"{device_tag:08x}{n + 1:024x}"}, "properties": {"level": n % 40 + 1 + level_above}}
        for n in range(count)
    ]})


def due_deliveries(app: App, count: int) -> list[Delivery]:
    now = timezone.now()
    made = [DeliveryFactory(event=TrackedEventFactory(app=app), next_attempt_at=now) for _ in range(count)]
    state.due_hint_advance(app_id=app.pk, now=now - timedelta(seconds=1))
    return made


def test_an_ingest_call_of_500_events_takes_no_more_queries_than_one_of_1(
    app: App, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")
    MappingFactory(app=app, event_name="level_up", event_field=5, main_level_property="")
    client = api_client_for(app.organization)
    url = f"/api/v1/apps/{app.pk}/events/"

    def ingest(body: str) -> Callable[[], object]:
        def post() -> None:
            # The kick after commit is part of the call's cost.
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(url, data=body, content_type="application/json")
            assert response.status_code == 202, response.content[:300]
        return post

    ingest(events(1, 1))()
    one = queries_of(ingest(events(2, 1)))
    five_hundred = queries_of(ingest(events(3, 500)))
    assert Delivery.objects.count() == 2 * 502
    assert len(five_hundred) <= len(one), "\n".join(five_hundred)
    # Devices seen before: each of their levels is raised, still in the same few queries.
    one_returning = queries_of(ingest(events(4, 1, devices_of=2, level_above=1)))
    five_hundred_returning = queries_of(ingest(events(5, 500, devices_of=3, level_above=1)))
    assert Delivery.objects.filter(status="pending").count() == 2 * 1003
    assert len(five_hundred_returning) <= len(one_returning), "\n".join(five_hundred_returning)


def test_writing_200_answers_takes_the_queries_of_writing_one(app: App) -> None:
    def answers_of(count: int) -> tuple[str, list[state.Answer]]:
        due_deliveries(app, count)
        own = deliveries_claim(limit=count)
        assert own
        held = list(Delivery.objects.filter(lease_token=own).select_related("event"))
        now = timezone.now()
        return own, [state.Answer([delivery], chartboost.Verdict(chartboost.DELIVERED, http_status=200,
                                                                  response_status=200),
                                  signed_request(delivery.event, app, [delivery]), now, now, 50)
                     for delivery in held]

    own, answers = answers_of(1)
    one = queries_of(lambda: state.answers_record(own=own, answers=answers))
    own, answers = answers_of(200)
    many = queries_of(lambda: state.answers_record(own=own, answers=answers))
    assert Delivery.objects.filter(status="delivered").count() == 201
    assert len(many) <= len(one), "\n".join(many)


def test_a_send_batch_costs_the_same_queries_besides_its_answer_writes_for_1_or_200_deliveries(
    chartboost_sandbox: ChartboostSandbox, app: App
) -> None:
    """Answers are written as they come back, so a batch writes a few times; each write costs the
    same queries (above), and everything else in the batch is a constant."""
    def batch_queries(count: int) -> tuple[int, int]:
        due_deliveries(app, count)
        token = deliveries_claim(limit=count)
        assert token
        sql = queries_of(lambda: deliveries_send(token))
        writes = sum(1 for query in sql if 'INSERT INTO "delivery_attempt"' in query)
        return len(sql), writes

    one, one_writes = batch_queries(1)
    many, many_writes = batch_queries(200)
    assert Delivery.objects.filter(status="delivered").count() == 201
    per_write = _answer_write_queries(app)
    assert many - many_writes * per_write <= one - one_writes * per_write


def _answer_write_queries(app: App) -> int:
    due_deliveries(app, 1)
    own = deliveries_claim(limit=1)
    assert own
    (delivery,) = Delivery.objects.filter(lease_token=own).select_related("event")
    now = timezone.now()
    answer = state.Answer([delivery], chartboost.Verdict(chartboost.DELIVERED, http_status=200, response_status=200),
                          signed_request(delivery.event, app, [delivery]), now, now, 50)
    return len(queries_of(lambda: state.answers_record(own=own, answers=[answer])))


def test_a_dispatcher_tick_takes_the_same_queries_for_600_or_3000_due_deliveries(app: App) -> None:
    def tick(count: int) -> list[str]:
        Delivery.objects.all().delete()
        due_deliveries(app, count)
        return queries_of(claims.deliveries_dispatch_due)

    small, large = tick(600), tick(3000)
    assert len(large) <= len(small), "\n".join(large)


def test_a_senders_claim_takes_the_same_queries_for_1_or_1000_due_deliveries(app: App) -> None:
    def claim(count: int) -> list[str]:
        Delivery.objects.all().delete()
        due_deliveries(app, count)
        return queries_of(lambda: claims.deliveries_claim_next(timezone.now()))

    one, many = claim(1), claim(1000)
    assert len(many) <= len(one), "\n".join(many)
