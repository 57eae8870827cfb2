"""POST /api/v1/apps/{app_id}/test-event/: the same test event as the app page's button, in JSON."""

from __future__ import annotations

import time_machine
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

from delivery.sandbox import ChartboostSandbox, Reply
from mappings.models import App
from tests.factories import AppFactory, OrganizationFactory
from tests.live_receiver import refused_url
from tests.test_test_event import TEN_INTO_A_MINUTE


def test_it_answers_the_signed_request_with_the_token_masked_and_chartboosts_answer(
    chartboost_sandbox: ChartboostSandbox, api: APIClient, app: App
) -> None:
    response = api.post(f"/api/v1/apps/{app.pk}/test-event/")

    assert response.status_code == 200, response.content
    body = response.json()
    [received] = chartboost_sandbox.received
    assert received.problems == []
    assert body["delivered"] is True
    assert body["request"]["url"] == chartboost_sandbox.url
    assert body["request"]["headers"]["X-Chartboost-Signature"] == received.header("X-Chartboost-Signature")
    assert body["request"]["body"] == received.body | {"token": app.chartboost_app_token_hint}
    assert app.chartboost_app_token not in response.content.decode()
    assert body["answer"] | {"response_body": ""} == {
        "outcome": "delivered", "http_status": 200, "response_status": 200, "response_message": "Success",
        "response_body": "", "error": "", "hint": ""}
    assert "No active mapping yet" in body["source"]
    assert isinstance(body["latency_ms"], int)


def test_a_refused_token_answers_chartboosts_message_and_a_hint(
    chartboost_sandbox: ChartboostSandbox, api: APIClient, app: App
) -> None:
    chartboost_sandbox.script(Reply.status(401, "Invalid signature"))
    answer = api.post(f"/api/v1/apps/{app.pk}/test-event/").json()["answer"]
    assert (answer["outcome"], answer["response_status"], answer["response_message"]) == (
        "failed", 401, "Invalid signature")
    assert answer["hint"].startswith("check the app token")


def test_an_unreachable_chartboost_is_an_answer_with_the_error_not_a_failure_of_the_call(
    settings: Settings, api: APIClient, app: App
) -> None:
    settings.CHARTBOOST_ENDPOINT = refused_url()
    response = api.post(f"/api/v1/apps/{app.pk}/test-event/")
    assert response.status_code == 200
    assert response.json()["answer"]["http_status"] is None
    assert response.json()["answer"]["error"].startswith("Could not connect to Chartboost")


def test_over_the_limit_it_answers_429_json_with_retry_after_counted_with_the_page(
    chartboost_sandbox: ChartboostSandbox, settings: Settings, api: APIClient, signed_in_client: Client, app: App
) -> None:
    settings.TEST_EVENTS_PER_MINUTE = 2
    with time_machine.travel(TEN_INTO_A_MINUTE, tick=False):
        assert signed_in_client.post(f"/apps/{app.pk}/test-event/").status_code == 302
        assert api.post(f"/api/v1/apps/{app.pk}/test-event/").status_code == 200
        response = api.post(f"/api/v1/apps/{app.pk}/test-event/")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "50"
    assert response.json() == {
        "detail": "This app may send 2 test events a minute, and has sent them: try again in 50 s."}
    assert len(chartboost_sandbox.received) == 2


def test_another_organizations_app_is_a_404(api: APIClient, db: None) -> None:
    other = AppFactory(organization=OrganizationFactory())
    response = api.post(f"/api/v1/apps/{other.pk}/test-event/")
    assert response.status_code == 404 and "detail" in response.json()


def test_it_is_in_the_schema_with_its_answers(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/apps/{app_id}/test-event/"]["post"]
    assert operation["operationId"] == "apps_test_event"
    assert {"200", "404", "409", "429"} <= set(operation["responses"])
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TestEventOutput")
