"""`POST /api/v1/apps/{app_id}/events/`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.test.client import RequestFactory
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from pytest_django import Settings
from rest_framework.test import APIClient

from delivery.api_ingest import MAX_BODY_BYTES, EventIngestView
from delivery.models import Delivery, TrackedEvent
from mappings.models import App, Mapping
from tests.api_helpers import api_client_for
from tests.factories import EventPayloadFactory, MappingFactory, OrganizationFactory
from trackerui.accounts.services import api_key_create, api_key_revoke

IFA = "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"


def url_for(app: App) -> str:
    return reverse("api-app-events", args=[app.pk])


def post_json(client: Client, app: App, body: Any) -> Any:
    return client.post(url_for(app), data=json.dumps(body), content_type="application/json")


def post_raw(client: Client, app: App, body: bytes, content_type: str = "application/json") -> Any:
    return client.generic("POST", url_for(app), data=body, content_type=content_type)


@pytest.fixture
def client(app: App) -> APIClient:
    return api_client_for(app.organization)


@pytest.fixture
def level_mapping(app: App) -> Mapping:
    return MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level")


def test_one_event_is_accepted_with_202_and_its_deliveries(client: APIClient, app: App, level_mapping: Mapping) -> None:
    response = post_json(client, app, EventPayloadFactory(event_id="e-1", properties={"level": 4}))
    assert response.status_code == 202, response.content
    body = response.json()
    delivery = Delivery.objects.get()
    assert body == {
        "results": [{"event_id": "e-1", "status": "accepted",
                     "deliveries": [{"id": delivery.pk, "event_field": 1, "status": "pending"}], "errors": {}}],
        "accepted": 1, "duplicate": 0, "unmapped": 0, "rejected": 0,
    }


def test_a_batch_answers_each_event_in_order(client: APIClient, app: App, level_mapping: Mapping) -> None:
    events = [
        EventPayloadFactory(event_id="a", properties={"level": 1}),
        EventPayloadFactory(event_id="b", name="tutorial_done"),
        EventPayloadFactory(event_id="c", identifiers={"ifa": "nope"}),
        EventPayloadFactory(event_id="a"),
    ]
    response = post_json(client, app, {"events": events})
    assert response.status_code == 202
    body = response.json()
    assert [(r["event_id"], r["status"]) for r in body["results"]] == [
        ("a", "accepted"), ("b", "unmapped"), ("c", "rejected"), ("a", "duplicate")
    ]
    assert body["results"][2]["errors"] == {
        "identifiers.ifa": ["An ifa is 32 hexadecimal characters (dashes and uppercase allowed)."]
    }
    assert (body["accepted"], body["unmapped"], body["rejected"], body["duplicate"]) == (1, 1, 1, 1)


def test_one_rejected_event_answers_400_with_the_same_results_body(client: APIClient, app: App,
                                                                  level_mapping: Mapping) -> None:
    response = post_json(client, app, EventPayloadFactory(event_id="e-1", properties={"level": "high"}))
    assert response.status_code == 400
    assert response.json() == {
        "results": [{"event_id": "e-1", "status": "rejected", "deliveries": [], "errors": {
            "properties.level": ["Event ID 1 (level_up) reads main_level from property “level”: a non-zero integer "
                                 '(got "high").'],
        }}],
        "accepted": 0, "duplicate": 0, "unmapped": 0, "rejected": 1,
    }
    assert not TrackedEvent.objects.exists()


def test_a_batch_whose_every_event_is_rejected_answers_400_with_each_result(client: APIClient, app: App) -> None:
    events = [EventPayloadFactory(event_id="a", identifiers={"ifa": "nope"}), EventPayloadFactory(event_id="b",
                                                                                               timestamp=-1)]
    response = post_json(client, app, {"events": events})
    assert response.status_code == 400
    body = response.json()
    assert [(r["event_id"], r["status"], list(r["errors"])) for r in body["results"]] == [
        ("a", "rejected", ["identifiers.ifa"]), ("b", "rejected", ["timestamp"])
    ]
    assert (body["accepted"], body["unmapped"], body["rejected"], body["duplicate"]) == (0, 0, 2, 0)


@pytest.mark.parametrize("taken", ["accepted", "unmapped", "duplicate"])
def test_a_batch_of_which_one_event_was_taken_still_answers_202(client: APIClient, app: App,
                                                                level_mapping: Mapping, taken: str) -> None:
    kept = EventPayloadFactory(event_id="kept", name="level_up" if taken == "accepted" else "other",
                               properties={"level": 3})
    if taken == "duplicate":
        assert post_json(client, app, kept).status_code == 202
    response = post_json(client, app, {"events": [kept, EventPayloadFactory(identifiers={"ifa": "nope"})]})
    assert response.status_code == 202
    assert [r["status"] for r in response.json()["results"]] == [taken, "rejected"]


def test_a_batch_of_1000_events_is_accepted(client: APIClient, app: App) -> None:
    events = [EventPayloadFactory(properties=None) for _ in range(1000)]
    response = post_json(client, app, {"events": events})
    assert response.status_code == 202
    assert response.json()["unmapped"] == 1000


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("name", ["level\x7fup", "level\x00up", "level\nup", "level\x1bup"])
def test_a_control_character_is_refused_however_the_body_writes_it(client: APIClient, app: App, name: str,
                                                                   ensure_ascii: bool) -> None:
    body = json.dumps({"events": [EventPayloadFactory(name=name), EventPayloadFactory()]}, ensure_ascii=ensure_ascii)
    answer = post_raw(client, app, body.encode()).json()
    assert [result["status"] for result in answer["results"]] == ["rejected", "unmapped"]
    assert list(answer["results"][0]["errors"]) == ["name"]


@pytest.mark.parametrize("content_type", [
    "text/plain",
    # What `curl -d` sends unless told otherwise.
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
    "application/jsonx",
    "multipart/form-data; boundary=x",
])
def test_a_body_sent_as_another_content_type_answers_415_and_stores_nothing(client: APIClient, app: App,
                                                                           content_type: str) -> None:
    body = json.dumps(EventPayloadFactory()).encode()
    response = post_raw(client, app, body, content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert "application/json" in response.json()["detail"]
    assert not TrackedEvent.objects.exists()


def test_a_body_sent_without_a_content_type_is_read_as_json(client: APIClient, app: App) -> None:
    # Senders written before the Content-Type was checked may send none.
    request_body = json.dumps(EventPayloadFactory()).encode()
    response = client.generic("POST", url_for(app), data=request_body, content_type="")
    assert response.status_code == 202
    assert response.json()["unmapped"] == 1


def test_json_with_a_utf8_charset_is_read(client: APIClient, app: App) -> None:
    body = json.dumps(EventPayloadFactory()).encode()
    response = post_raw(client, app, body, content_type="application/json; charset=utf-8")
    assert response.status_code == 202


def test_an_oversized_body_of_another_content_type_answers_413_first(client: APIClient, app: App) -> None:
    response = post_raw(client, app, b" " * (MAX_BODY_BYTES + 1), content_type="text/plain")
    assert response.status_code == 413
    assert "detail" in response.json()


def test_without_an_api_key_it_answers_401(app: App) -> None:
    response = post_json(APIClient(), app, EventPayloadFactory())
    assert response.status_code == 401
    assert "detail" in response.json()
    assert not TrackedEvent.objects.exists()


@pytest.mark.parametrize("header", ["Bearer cbt_00000000_not-a-real-key", "Bearer ", "Bearer revoked"])
def test_a_bad_or_revoked_api_key_answers_401(app: App, header: str) -> None:
    if header == "Bearer revoked":
        api_key, raw_key = api_key_create(organization=app.organization)
        api_key_revoke(api_key=api_key)
        header = f"Bearer {raw_key}"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert post_json(client, app, EventPayloadFactory()).status_code == 401
    assert not TrackedEvent.objects.exists()


def test_another_organizations_app_answers_404(app: App) -> None:
    stranger = api_client_for(OrganizationFactory())
    response = post_json(stranger, app, EventPayloadFactory())
    assert response.status_code == 404
    assert not TrackedEvent.objects.exists()


def test_an_app_that_does_not_exist_answers_404(client: APIClient, app: App) -> None:
    response = client.post(reverse("api-app-events", args=[app.pk + 1000]), data="{}", content_type="application/json")
    assert response.status_code == 404


def test_a_signed_in_user_can_ingest_with_a_csrf_token(member: User, app: App) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    without_token = post_json(browser, app, EventPayloadFactory())
    assert without_token.status_code == 403
    browser.get(reverse("login"))
    token = browser.cookies["csrftoken"].value
    response = browser.post(url_for(app), data=json.dumps(EventPayloadFactory()), content_type="application/json",
                            headers={"X-CSRFToken": token})
    assert response.status_code == 202, response.json()


def test_only_post_is_allowed(client: APIClient, app: App) -> None:
    assert client.get(url_for(app)).status_code == 405


def test_it_is_throttled_at_the_ingest_rate(client: APIClient, app: App, settings: Settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api": "1000/min", "ingest": "2/min"}}
    answers = [post_json(client, app, EventPayloadFactory()).status_code for _ in range(3)]
    assert answers == [202, 202, 429]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty"),
        (b"not json", "not JSON"),
        (b'{"event_id": "e-1",', "truncated"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"name": "\xc3\x28"}', "invalid UTF-8 inside a string"),
        (b"[]", "a list"),
        (b'[{"event_id": "e-1"}]', "a list of events"),
        (b'"event"', "a string"),
        (b"12", "a number"),
        (b"null", "null"),
        (b'{"events": {}}', "events not a list"),
        (b'{"events": "e-1"}', "events a string"),
        (b'{"events": null}', "events null"),
        (b'{"events": []}', "no events"),
        (b'{"timestamp": NaN}', "NaN"),
        (b'{"timestamp": Infinity}', "Infinity"),
        (b'{"timestamp": 1e999}', "a float too large"),
        (b'{"timestamp": ' + b"9" * 5000 + b"}", "an integer too long to read"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_body_that_is_not_a_json_object_of_events_answers_400(client: APIClient, app: App, body: bytes,
                                                                 why: str) -> None:
    response = post_raw(client, app, body)
    assert response.status_code == 400, why
    assert response.json()
    assert not TrackedEvent.objects.exists()


def test_more_than_1000_events_answer_400(client: APIClient, app: App) -> None:
    response = post_json(client, app, {"events": [EventPayloadFactory() for _ in range(1001)]})
    assert response.status_code == 400
    assert "events" in response.json()
    assert not TrackedEvent.objects.exists()


def test_a_body_over_1_mib_answers_413_by_its_content_length(client: APIClient, app: App) -> None:
    body = json.dumps({"events": [EventPayloadFactory(properties={"pad": "x" * 15_000}) for _ in range(80)]})
    assert len(body) > MAX_BODY_BYTES
    response = post_raw(client, app, body.encode())
    assert response.status_code == 413
    assert "detail" in response.json()
    assert not TrackedEvent.objects.exists()


def test_a_body_of_exactly_1_mib_is_read(client: APIClient, app: App) -> None:
    body = json.dumps(EventPayloadFactory(properties={"note": "short"})).encode()
    padded = body + b" " * (MAX_BODY_BYTES - len(body))
    assert post_raw(client, app, padded).status_code == 202


def test_size_is_checked_before_authentication(app: App) -> None:
    response = post_raw(APIClient(), app, b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413


def test_a_body_over_1_mib_without_a_content_length_answers_413_by_its_bytes(app: App) -> None:
    # A chunked request carries no Content-Length: the bytes read are what count.
    _, raw_key = api_key_create(organization=app.organization)
    request = RequestFactory().generic(
        "POST", url_for(app), data=b" " * (MAX_BODY_BYTES + 10) + b"{}", content_type="application/json",
        headers={"Authorization": f"Bearer {raw_key}"},
    )
    del request.META["CONTENT_LENGTH"]
    response = EventIngestView.as_view()(request, app_id=app.pk)
    assert response.status_code == 413


ODD_BODIES: list[Any] = [
    {},
    {"events": [None, 1, "x", [], {}, {"events": []}]},
    {"event_id": None, "name": None, "timestamp": None, "platform": None, "identifiers": None},
    {"event_id": ["a"], "name": {"b": 1}, "timestamp": [1], "platform": False, "identifiers": [IFA]},
    {"timestamp": 2**70},
    {"timestamp": -(2**70)},
    {"timestamp": 1.5},
    {"event_id": "e-1", "timestamp": 10**300},
    {"properties": {"level": 2**200}},
    {"properties": {"level": -(2**200), "stage": 10**50}},
    {"properties": {"level": "9" * 4000}},
    {"properties": {"level": 1e308, "stage": -1e308}},
    {"identifiers": {"ifa": None, "gaid": 7, "uuid": {"x": 1}}},
    {"identifiers": {"ifa": "\u0000" * 32}},
    {"event_id": "\ud800", "name": "\udfff"},
    {"event_id": "é" * 128, "name": "ü" * 255, "platform": "🎮" * 64},
    {"properties": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
    {"properties": {"": None, " ": "", "level": " "}},
    {"sdk_version": "", "limit_ad_tracking": None, "properties": []},
    {"events": [{"event_id": str(n), "timestamp": n} for n in range(50)]},
]


@pytest.mark.parametrize("overrides", ODD_BODIES)
def test_odd_bodies_never_cause_a_500(client: APIClient, app: App, overrides: dict[str, Any]) -> None:
    MappingFactory(app=app, event_name="level_up", event_field=1, main_level_property="level",
                   sub_level_property="stage", description_property="world")
    MappingFactory(app=app, event_name="level_up", event_field=2, main_level_property="",
                   description_property="level")
    body = overrides if "events" in overrides or not overrides else {**EventPayloadFactory(), **overrides}
    # ASCII-escaped, so lone surrogates arrive as the JSON escapes "\\ud800" a client may send.
    response = post_raw(client, app, json.dumps(body).encode())
    assert response.status_code in (202, 400, 413), response.content
    assert isinstance(response.json(), dict)


def test_the_schema_documents_the_endpoint_with_examples() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/apps/{app_id}/events/"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "413"}
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"OneEvent", "ABatch"} <= set(examples)
    assert "examples" in operation["responses"]["202"]["content"]["application/json"]


@pytest.mark.parametrize(("platform", "overrides", "field"), [
    ("ios", {"platform": " "}, "platform"),
    ("ios", {"name": "\t"}, "name"),
    ("android", {"platform": "Android 14", "identifiers": {"uuid": " "}}, "identifiers"),
])
def test_a_blank_platform_name_or_identifier_is_missing_and_the_event_rejected(
    client: APIClient, app: App, platform: str, overrides: dict[str, Any], field: str
) -> None:
    App.objects.filter(pk=app.pk).update(platform=platform)
    response = post_json(client, app, EventPayloadFactory(**overrides))
    assert response.status_code == 400
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert list(result["errors"]) == [field]
    assert not TrackedEvent.objects.exists()
