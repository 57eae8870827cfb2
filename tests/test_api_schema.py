"""The OpenAPI schema at /api/schema/ and the docs at /api/docs/."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from openapi_spec_validator import validate
from pytest_django import DjangoDbBlocker

JSON_SCHEMA = "application/vnd.oai.openapi+json"

# Every path and method of the API reference.
SPEC_OPERATIONS = {
    "/api/v1/apps/": {"get", "post"},
    "/api/v1/apps/{app_id}/": {"get", "patch", "delete"},
    "/api/v1/apps/{app_id}/mappings/": {"get", "post"},
    "/api/v1/apps/{app_id}/mappings/{id}/": {"get", "patch", "delete"},
    "/api/v1/apps/{app_id}/events/": {"post"},
    "/api/v1/apps/{app_id}/deliveries/": {"get"},
    "/api/v1/deliveries/{id}/": {"get"},
    "/api/v1/deliveries/{id}/retry/": {"post"},
    "/api/v1/apps/{app_id}/recover/": {"post"},
    "/api/v1/apps/{app_id}/stats/": {"get"},
    "/api/v1/apps/{app_id}/changes/": {"get"},
    "/api/v1/apps/{app_id}/event-names/": {"get"},
    "/api/v1/deliveries/": {"get"},
    "/apps/{app_id}/deliveries/export.csv": {"get"},
    "/api/v1/apps/{app_id}/write-keys/": {"get", "post"},
    "/api/v1/apps/{app_id}/write-keys/{id}/": {"delete"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: DjangoDbBlocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT=JSON_SCHEMA)
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3(schema: dict) -> None:
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_lists_every_path_and_method_of_the_spec(schema: dict) -> None:
    listed = {path: set(item) & HTTP_METHODS for path, item in schema["paths"].items()}

    assert {path: listed.get(path, set()) for path in SPEC_OPERATIONS} == SPEC_OPERATIONS


def test_it_is_public_and_yaml_by_default(db: None) -> None:
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["info"]["title"] == settings.SPECTACULAR_SETTINGS["TITLE"]


def test_api_keys_are_documented_as_bearer_auth_on_every_operation(schema: dict) -> None:
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        **schema["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"
    }
    for path, item in schema["paths"].items():
        for method in set(item) & HTTP_METHODS:
            assert {"bearerAuth": []} in item[method]["security"], (method, path)


def test_every_operation_documents_its_error_answers(schema: dict) -> None:
    for path, item in schema["paths"].items():
        for method in set(item) & HTTP_METHODS:
            assert {"401", "404", "429"} <= set(item[method]["responses"]), (method, path)


def test_the_token_is_write_only_and_the_hint_read_only(schema: dict) -> None:
    components = schema["components"]["schemas"]

    assert "chartboost_app_token" not in components["AppOutput"]["properties"]
    assert "chartboost_app_token_hint" in components["AppOutput"]["properties"]
    assert "chartboost_app_token" in components["AppCreateInputRequest"]["properties"]
    assert "chartboost_app_token_hint" not in components["AppCreateInputRequest"]["properties"]


def test_mappings_have_request_and_response_examples(schema: dict) -> None:
    create = schema["paths"]["/api/v1/apps/{app_id}/mappings/"]["post"]
    update = schema["paths"]["/api/v1/apps/{app_id}/mappings/{id}/"]["patch"]

    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    reset = update["requestBody"]["content"]["application/json"]["examples"]["ResetTheLabelToTheEventName"]
    assert reset["value"] == {"event_label": ""}


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A link is followed, not loaded: the way back to the dashboard is no asset.
        if tag == "a":
            return
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def test_the_docs_page_is_public_and_loads_nothing_from_outside(db: None) -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    collector = _AssetCollector()
    collector.feed(page)
    assert len(collector.urls) >= 4  # Swagger UI's CSS, its two scripts, the favicon, our initialiser.
    # The initialiser is this page's own URL with ?script (the split view keeps the CSP free of inline scripts).
    initialiser = "/api/docs/?script="
    assert initialiser in collector.urls
    for url in collector.urls:
        if url == initialiser:
            continue
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not a file we serve"
    # Nothing absolute anywhere, the initialiser included (Swagger UI's validator badge is off).
    for text in (page, Client().get(initialiser).content.decode()):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_an_apps_changes_are_documented_with_their_shape(schema: dict) -> None:
    answer = schema["paths"]["/api/v1/apps/{app_id}/changes/"]["get"]["responses"]["200"]
    page = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    item = schema["components"]["schemas"][page]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
    change = schema["components"]["schemas"][item]
    assert set(change["properties"]) == {"at", "actor", "source", "object", "object_id", "action", "changes"}
    assert set(change["required"]) == set(change["properties"])


def test_every_operation_is_filed_under_the_resource_it_acts_on(schema: dict) -> None:
    tags = {
        (method, path): tuple(operation.get("tags", ()))
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert tags[("post", "/api/v1/apps/{app_id}/events/")] == ("events",)
    assert {found for found in tags.values() if len(found) != 1 or "v1" in found} == set()


def test_every_post_but_ingestion_documents_the_idempotency_key_header(schema: dict) -> None:
    for path, item in schema["paths"].items():
        if "post" not in item:
            continue
        headers = {p["name"] for p in item["post"].get("parameters", []) if p["in"] == "header"}
        takes_keys = path != "/api/v1/apps/{app_id}/events/"
        assert ("Idempotency-Key" in headers) == takes_keys, path
        assert ({"409", "422"} <= set(item["post"]["responses"])) == takes_keys, path


def test_every_answer_documents_the_ratelimit_headers(schema: dict) -> None:
    for path, item in schema["paths"].items():
        for method in set(item) & HTTP_METHODS:
            for code, response in item[method]["responses"].items():
                assert {"RateLimit-Policy", "RateLimit"} <= set(response.get("headers", {})), (method, path, code)
