"""Which conditions raise alerts, to whom, how often, and the `recovered` that follows (conditions.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pytest_django import Settings

from delivery.alerts.channels import alert_channel_create
from delivery.alerts.conditions import conditions_evaluate
from delivery.alerts.models import Alert, AlertChannel, AlertSettings, Condition
from delivery.history.rollups import hour_of
from delivery.models import AppSendingState, Delivery, RejectionRollup
from mappings.models import App
from tests.factories import AppFactory, AttemptFactory, DeliveryFactory, OrganizationFactory
from trackerui.accounts.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(organization: Organization) -> list[AlertChannel]:
    return [alert_channel_create(organization=organization, kind="email", target=f"ops{n}@example.com").channel
            for n in range(2)]


def _circuit(app: App, state: str) -> None:
    AppSendingState.objects.update_or_create(app=app, defaults={"circuit": state, "circuit_since": timezone.now(),
                                                         "failures": 5})


def _alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("channel_id"))


def test_an_open_circuit_alerts_every_channel_once_with_the_figures_and_a_link(
    app: App, channels: list[AlertChannel]
) -> None:
    _circuit(app, "open")
    conditions_evaluate()
    conditions_evaluate()
    alerts = _alerts("circuit_open")
    assert [alert.channel for alert in alerts] == channels
    message = alerts[0].message
    assert message["app"]["id"] == app.pk and message["figures"]["failures"] == 5
    assert message["link"] == f"http://127.0.0.1:8000/apps/{app.pk}/"
    assert message["at"].endswith("Z") and str(app) in message["summary"]
    assert {alert.status for alert in alerts} == {"pending"}


def test_when_the_circuit_closes_each_alerted_channel_hears_it_recovered_and_how_long_it_lasted(
    app: App, channels: list[AlertChannel]
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _circuit(app, "open")
        conditions_evaluate()
        clock.shift(timedelta(minutes=7))
        _circuit(app, "closed")
        conditions_evaluate()
    recovered = _alerts("recovered")
    assert [alert.channel for alert in recovered] == channels
    assert recovered[0].message["figures"]["lasted_seconds"] == 420
    assert recovered[0].message["figures"]["condition"] == "circuit_open"
    assert "after 7 min" in recovered[0].message["summary"]
    assert Condition.objects.get().ended_at is not None


def test_the_same_alert_goes_to_a_channel_at_most_once_an_hour_and_recovered_only_follows_a_sent_alert(
    app: App, channels: list[AlertChannel]
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            _circuit(app, "open")
            conditions_evaluate()
            clock.shift(timedelta(minutes=10))
            _circuit(app, "closed")
            conditions_evaluate()
            clock.shift(timedelta(minutes=10))
        assert len(_alerts("circuit_open")) == 2
        assert len(_alerts("recovered")) == 2
        clock.shift(timedelta(minutes=11))
        _circuit(app, "open")
        conditions_evaluate()
        assert len(_alerts("circuit_open")) == 4


def test_only_the_apps_own_organization_hears_of_it(app: App, channels: list[AlertChannel]) -> None:
    other = AppFactory(organization=OrganizationFactory())
    _circuit(other, "open")
    conditions_evaluate()
    assert not Alert.objects.exists()


def _attempted(app: App, delivered: int, failed: int) -> None:
    for status, count in ((Delivery.Status.DELIVERED, delivered), (Delivery.Status.FAILED, failed)):
        for _ in range(count):
            DeliveryFactory(event__app=app, status=status, attempt_count=1)


def test_a_success_rate_below_the_threshold_over_enough_attempts_alerts(
    app: App, channels: list[AlertChannel]
) -> None:
    _attempted(app, delivered=17, failed=3)
    conditions_evaluate()
    [alert, _] = _alerts("success_rate_low")
    assert alert.message["figures"] == {"success_rate": 85.0, "attempted": 20, "delivered": 17, "threshold": 90,
                                        "window_minutes": 15.0}


def test_too_few_attempts_or_a_rate_at_the_threshold_raise_nothing(
    app: App, organization: Organization, channels: list[AlertChannel]
) -> None:
    _attempted(app, delivered=0, failed=19)
    # Not yet tried: not counted.
    DeliveryFactory(event__app=app, status=Delivery.Status.PENDING)
    conditions_evaluate()
    assert not _alerts("success_rate_low")
    AlertSettings.objects.create(organization=organization, success_rate_threshold=5)
    _attempted(app, delivered=1, failed=0)
    conditions_evaluate()
    assert not _alerts("success_rate_low")


def test_deliveries_refused_for_a_bad_token_need_a_fix_with_the_hint_we_show(
    app: App, channels: list[AlertChannel]
) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.FAILED, attempt_count=1)
    AttemptFactory(delivery=delivery, http_status=200, response_status=401, response_message="Invalid signature")
    conditions_evaluate()
    [alert, _] = _alerts("needs_fix")
    assert alert.message["figures"]["failed"] == 1
    assert alert.message["figures"]["hint"] == f"check the app token, and that it belongs to Chartboost app ID " \
                                               f"{app.chartboost_app_id}"


def test_many_rejected_events_alert_with_the_top_reason_and_a_masked_example(
    app: App, channels: list[AlertChannel]
) -> None:
    hour = hour_of(timezone.now())
    RejectionRollup.objects.create(app=app, hour=hour, reason="timestamp", count=4,
                                   example={"event": {"identifiers": {"ifa": "…DFC6"}}})
    RejectionRollup.objects.create(app=app, hour=hour, reason="name", count=1)
    for _ in range(15):
        DeliveryFactory(event__app=app)
    conditions_evaluate()
    [alert, _] = _alerts("rejections_high")
    figures = alert.message["figures"]
    assert (figures["events"], figures["rejected"], figures["top_reason"]) == (20, 5, "timestamp")
    assert figures["example"] == {"event": {"identifiers": {"ifa": "…DFC6"}}}


def test_few_rejections_raise_nothing(app: App, channels: list[AlertChannel]) -> None:
    RejectionRollup.objects.create(app=app, hour=hour_of(timezone.now()), reason="timestamp", count=1)
    for _ in range(19):
        DeliveryFactory(event__app=app)
    conditions_evaluate()
    assert not _alerts("rejections_high")


def test_an_organization_without_channels_is_not_evaluated(settings: Settings) -> None:
    _circuit(AppFactory(), "open")
    conditions_evaluate()
    assert not Condition.objects.exists()
