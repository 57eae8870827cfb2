"""An app's problems and health level are one rule (delivery/health.py::app_problems): the
overview, its badge, the apps list, the admin's success history and the app's API answer agree."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.health import app_health
from delivery.ingest.service import events_ingest
from delivery.models import AppSendingState, EventName
from mappings.models import App
from tests.factories import AppFactory, EventNameFactory, EventPayloadFactory, MappingFactory
from tests.page_helpers import page_text


def circuit_open(app: App) -> None:
    now = timezone.now()
    AppSendingState.objects.update_or_create(
        app=app, defaults={"circuit": "open", "circuit_since": now, "failures": 5, "probe_interval": 4,
                           "next_probe_at": now + timedelta(seconds=4)},
    )


def only_an_unmapped_name(app: App) -> None:
    EventNameFactory(app=app, name="boss_defeated")


def what_every_surface_shows(app: App, client: Client, staff_client: Client, api: APIClient) -> dict[str, object]:
    overview = page_text(client, f"/apps/{app.pk}/")
    problems = overview[overview.index('id="problems"'):overview.index("</section>", overview.index('id="problems"'))]
    badge = re.search(r'<span class="badge [a-z]+" data-health="([a-z]+)">', overview)
    apps_list = page_text(client, "/apps/")
    row = apps_list[apps_list.index(app.name):apps_list.index("</tr>", apps_list.index(app.name))]
    admin = page_text(staff_client, "/admin/delivery/delivery/history/")
    admin_row = admin[admin.index(app.name):admin.index("</tr>", admin.index(app.name))]
    answer = api.get(f"/api/v1/apps/{app.pk}/").json()["health"]
    codes = re.compile(r'data-problem="([a-z0-9-]+)"')
    return {
        "overview": (badge and badge.group(1), codes.findall(problems)),
        "apps list": (re.search(r'data-health="([a-z]+)"', row).group(1), codes.findall(row)),
        "admin": (re.search(r'data-health="([a-z]+)"', admin_row).group(1), codes.findall(admin_row)),
        "api": (answer["level"], [problem["code"] for problem in answer["problems"]]),
    }


@pytest.mark.parametrize(("arrange", "level", "codes"), [
    (only_an_unmapped_name, "warning", ["unmapped"]),
    (circuit_open, "error", ["circuit-open"]),
])
def test_the_overview_its_badge_the_apps_list_the_admin_and_the_api_agree(
    signed_in_client: Client, staff_client: Client, api: APIClient, app: App,
    arrange: object, level: str, codes: list[str],
) -> None:
    App.objects.filter(pk=app.pk).update(s2s_confirmed=True)
    app.refresh_from_db()
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    arrange(app)  # type: ignore[operator]

    shown = what_every_surface_shows(app, signed_in_client, staff_client, api)

    assert shown == {surface: (level, codes) for surface in ("overview", "apps list", "admin", "api")}


def test_mostly_rejected_events_are_failing_and_say_their_share(app: App) -> None:
    """Issue 19: 21 events, 15 rejected, 6 delivered was "healthy" and "100 %" on the apps list."""
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    events_ingest(app=app, events=[EventPayloadFactory(name="level_complete") for _ in range(6)]
                  + [EventPayloadFactory(timestamp=None) for _ in range(15)])

    health = app_health([app])[app.pk]

    assert (health.events.rejected, health.events.total) == (15, 21)
    assert health.level == "error"
    (rejected,) = [problem for problem in health.problems if problem.code == "rejected"]
    assert rejected.severity == "error"
    assert "15 rejected events in the last 24 h (71.4 % of 21 received)" in rejected.message


def test_unmapped_names_no_longer_arriving_are_shown_but_do_not_lower_the_badge(app: App) -> None:
    App.objects.filter(pk=app.pk).update(s2s_confirmed=True)
    app.refresh_from_db()
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    EventNameFactory(app=app, name="old_event")
    EventName.objects.filter(app=app).update(last_seen_at=timezone.now() - timedelta(days=3))

    health = app_health([app])[app.pk]

    assert [(problem.code, problem.severity) for problem in health.problems] == [("unmapped", "info")]
    assert health.level == "idle"


def test_s2s_and_a_shared_app_id_are_listed_but_never_lower_the_badge(app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    other = AppFactory(organization=app.organization)
    App.objects.filter(pk=other.pk).update(chartboost_app_id=app.chartboost_app_id)

    health = app_health([app])[app.pk]

    assert [(problem.code, problem.severity) for problem in health.problems] == [
        ("s2s", "info"), ("duplicate-app-id", "info"),
    ]
    assert health.level == "idle"
