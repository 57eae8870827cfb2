"""trackerui/foundation/api_errors.py: every answer under /api/ is JSON, whatever happened and whatever DEBUG is."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

from mappings.models import App
from trackerui.foundation.api_errors import DEFAULT_MAX_BODY_BYTES, SERVER_ERROR_DETAIL, JsonParser, PayloadTooLarge

APPS = "/api/v1/apps/"


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request: pytest.FixtureRequest, settings: Settings) -> bool:
    settings.DEBUG = request.param
    return request.param


def json_of(response: Any) -> Any:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return json.loads(response.content)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("path", [
    "/api/nothing-here/",
    "/api/v1/nothing-here/",
    "/api/v1/apps/not-a-number/",
    "/api/v1/apps",
    "/api/",
])
def test_an_unknown_api_path_answers_a_json_404_with_debug_on_and_off(api: APIClient, debug: bool,
                                                                      path: str) -> None:
    for method in ("get", "post", "delete"):
        response = getattr(api, method)(path)
        assert response.status_code == 404, (method, path)
        assert json_of(response) == {"detail": "Not found."}


def test_an_unknown_api_path_answers_404_before_looking_at_the_body(api: APIClient, debug: bool) -> None:
    response = api.generic("POST", "/api/v1/nothing-here/", data=b" " * (DEFAULT_MAX_BODY_BYTES + 1),
                           content_type="text/plain")
    assert response.status_code == 404
    assert json_of(response) == {"detail": "Not found."}


def schema_paths(client: Client) -> list[str]:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return list(json.loads(response.content)["paths"])


@pytest.mark.parametrize("bad_id", ["-1", "abc", "999999999"])
def test_every_path_of_the_schema_answers_an_unknown_id_with_a_json_404(api: APIClient, debug: bool,
                                                                      bad_id: str) -> None:
    paths = schema_paths(api)
    # The CSV export is one of them, though its path is a page's (delivery/export.py).
    assert "/apps/{app_id}/deliveries/export.csv" in paths
    for template in paths:
        if "{" not in template:
            continue
        path = re.sub(r"\{[^}]+\}", bad_id, template)
        response = api.get(path)
        # 405: an operation with no GET (the id is never read then).
        assert response.status_code in (404, 405), path
        assert set(json_of(response)) == {"detail"}, path


def test_the_export_answers_an_internal_error_as_json(api: APIClient, debug: bool, app: App,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr("delivery.export.deliveries_for_app", broken)
    response = api.get(f"/apps/{app.pk}/deliveries/export.csv")
    assert response.status_code == 500
    assert json_of(response) == {"detail": SERVER_ERROR_DETAIL}


def test_outside_the_api_a_404_is_still_the_dashboards_page(signed_in_client: Client, settings: Settings) -> None:
    settings.DEBUG = False
    response = signed_in_client.get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_limit_on_any_endpoint_answers_413_json(api: APIClient, debug: bool) -> None:
    response = api.generic("POST", APPS, data=b" " * (DEFAULT_MAX_BODY_BYTES + 1), content_type="application/json")
    assert response.status_code == 413
    assert json_of(response) == {"detail": "The body is over 256 KiB: send less in one request."}


def test_a_body_over_the_limit_answers_413_before_authentication_and_content_type(debug: bool) -> None:
    response = APIClient().generic("POST", APPS, data=b" " * (DEFAULT_MAX_BODY_BYTES + 1), content_type="text/plain")
    assert response.status_code == 413
    assert "detail" in json_of(response)


def test_a_query_string_over_4_kib_answers_414_json(api: APIClient, debug: bool) -> None:
    assert api.get(APPS + "?q=" + "x" * 4094).status_code == 200
    response = api.get(APPS + "?q=" + "x" * 4095)
    assert response.status_code == 414
    assert json_of(response) == {"detail": "The query string is over 4 KiB."}


def test_a_header_over_8_kib_or_too_many_headers_answer_431_json(api: APIClient, debug: bool) -> None:
    assert api.get(APPS, HTTP_X_PADDING="x" * 8192).status_code == 200
    assert api.get(APPS, HTTP_X_PADDING="x" * 8193).status_code == 431
    many = {f"HTTP_X_PADDING_{number}": "x" for number in range(101)}
    response = api.get(APPS, **many)
    assert response.status_code == 431
    assert "headers are too large" in json_of(response)["detail"]


def test_a_chunked_body_without_a_content_length_answers_411_json(api: APIClient, app: App, debug: bool) -> None:
    response = api.generic("POST", f"/api/v1/apps/{app.pk}/events/", data=b"", content_type="application/json",
                           HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    assert response.status_code == 411
    assert "Content-Length" in json_of(response)["detail"]


def test_a_body_without_a_content_length_is_counted_as_it_is_read() -> None:
    with pytest.raises(PayloadTooLarge):
        JsonParser().parse(io.BytesIO(b" " * (DEFAULT_MAX_BODY_BYTES + 1) + b"{}"), "application/json", {})


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_an_unsupported_content_type_answers_415_json(api: APIClient, debug: bool, content_type: str) -> None:
    response = api.generic("POST", APPS, data=nested(10_000), content_type=content_type)
    assert response.status_code == 415
    assert "detail" in json_of(response)


@pytest.mark.parametrize("depth", [65, 10_000, 100_000])
def test_a_body_nested_too_deep_answers_400_json_not_500(api: APIClient, debug: bool, depth: int) -> None:
    response = api.generic("POST", APPS, data=nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 64 levels deep" in json_of(response)["detail"]


def test_a_body_nested_within_the_limit_is_read(api: APIClient) -> None:
    response = api.generic("POST", APPS, data=b'{"name": ' + nested(63) + b"}", content_type="application/json")
    assert response.status_code == 400
    assert "name" in json_of(response)


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe{}", b'{"name": NaN}', b'{"name": 1e999}'])
def test_a_body_that_is_not_json_answers_400_json(api: APIClient, debug: bool, body: bytes) -> None:
    response = api.generic("POST", APPS, data=body, content_type="application/json")
    assert response.status_code == 400
    assert json_of(response)["detail"].startswith("The body is not valid JSON")


def test_an_internal_error_answers_500_json_without_a_traceback(api: APIClient, debug: bool, app: App,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr("trackerui.dashboard.api.apps_for_organization", broken)
    response = api.get(APPS)
    assert response.status_code == 500
    assert json_of(response) == {"detail": SERVER_ERROR_DETAIL}
    assert b"secret detail" not in response.content
    assert b"Traceback" not in response.content
    # The operator still gets the whole story, in the log.
    assert "secret detail of the failure" in caplog.text


def test_an_error_answered_as_html_below_the_api_views_is_turned_into_json(debug: bool,
                                                                           settings: Settings) -> None:
    # A host check fails in middleware, before any API view runs; Django answers it as HTML.
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client().get(APPS, headers={"host": "evil.example"})
    assert response.status_code == 400
    assert json_of(response) == {"detail": "Bad Request."}


def test_the_api_docs_page_stays_html(client: Client, db: None) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
