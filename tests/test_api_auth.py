"""Who may call the API, how often, and what errors look like."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import Client, override_settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from mappings.models import App
from tests.api_helpers import api_client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from trackerui.accounts.models import Organization
from trackerui.accounts.services import api_key_create, api_key_revoke
from trackerui.foundation.api import exception_handler

CSRF_TOKEN = "a" * 32


@pytest.fixture(autouse=True)
def empty_throttle_counters(db: None) -> Iterator[None]:
    # The counters live in the cache, which is a database table unless REDIS_URL is set.
    cache.clear()
    yield
    cache.clear()


def _rates(api: str = "1200/min", ingest: str = "600/second") -> override_settings:
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": api, "ingest": ingest}}
    )


def test_no_credentials_is_a_401_saying_how_to_authenticate(db: None) -> None:
    response = APIClient().get("/api/v1/apps/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "detail" in response.json()


@pytest.mark.parametrize("header", ["Bearer cbt_00000000_wrong", "Bearer ", "bearer nope"])
def test_a_wrong_key_is_a_401(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/apps/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_key_is_a_401(organization: Organization) -> None:
    api_key, raw_key = api_key_create(organization=organization)
    api_key_revoke(api_key=api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    response = client.get("/api/v1/apps/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_a_key_acts_for_its_own_organization(organization: Organization, app: App) -> None:
    response = api_client_for(organization).get("/api/v1/apps/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [app.id]


def test_the_browser_session_works_for_reads(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.get("/api/v1/apps/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_session_write_needs_the_csrf_token(member: User, app: App) -> None:
    client = Client(enforce_csrf_checks=True)
    client.login(username=member.username, password=PASSWORD)
    client.cookies["csrftoken"] = CSRF_TOKEN
    url = f"/api/v1/apps/{app.id}/"

    without = client.patch(url, {"name": "No token"}, content_type="application/json")
    with_token = client.patch(url, {"name": "With token"}, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF_TOKEN)

    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    assert with_token.status_code == 200
    assert with_token.json()["name"] == "With token"


def test_a_signed_in_user_without_an_organization_is_refused(db: None) -> None:
    user = UserFactory()
    client = Client()
    client.login(username=user.username, password=PASSWORD)

    assert client.get("/api/v1/apps/").status_code == 403


def test_a_call_over_the_rate_is_a_429_with_retry_after(organization: Organization) -> None:
    api = api_client_for(organization)
    with _rates(api="3/min"):
        answers = [api.get("/api/v1/apps/").status_code for _ in range(3)]
        throttled = api.get("/api/v1/apps/")

    assert answers == [200, 200, 200]
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/deliveries/?event_id=evt-1", "/api/v1/apps/{app}/event-names/",
                                  "/apps/{app}/deliveries/export.csv"])
def test_the_search_the_event_names_and_the_export_count_against_the_api_rate(
    organization: Organization, app: App, path: str
) -> None:
    api = api_client_for(organization)
    with _rates(api="2/min"):
        answers = [api.get(path.format(app=app.pk)).status_code for _ in range(2)]
        throttled = api.get(path.format(app=app.pk))
        # One allowance per key: the other paths are refused too once it is spent.
        elsewhere = api.get(f"/api/v1/apps/{app.pk}/deliveries/")

    assert answers == [200, 200]
    assert (throttled.status_code, elsewhere.status_code) == (429, 429)
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"]


def test_each_api_key_has_its_own_allowance(organization: Organization) -> None:
    busy, quiet = api_client_for(organization), api_client_for(organization)
    with _rates(api="2/min"):
        for _ in range(2):
            busy.get("/api/v1/apps/")

        assert busy.get("/api/v1/apps/").status_code == 429
        assert quiet.get("/api/v1/apps/").status_code == 200


def test_each_signed_in_user_has_their_own_allowance(signed_in_client: Client, organization: Organization) -> None:
    colleague = MembershipFactory(organization=organization).user
    other_client = Client()
    other_client.login(username=colleague.username, password=PASSWORD)
    with _rates(api="1/min"):
        signed_in_client.get("/api/v1/apps/")

        assert signed_in_client.get("/api/v1/apps/").status_code == 429
        assert other_client.get("/api/v1/apps/").status_code == 200


class IngestScopedView(APIView):
    """Stands in for the ingestion endpoint: any view with `throttle_scope = "ingest"`."""

    throttle_scope = "ingest"

    def post(self, request: Request) -> Response:
        return Response(status=202)


def test_ingestion_is_counted_apart_from_the_rest_at_its_own_rate(organization: Organization) -> None:
    api_key, _ = api_key_create(organization=organization)
    view = IngestScopedView.as_view()
    api = APIClient()
    api.force_authenticate(user=AnonymousUser(), token=api_key)

    def ingest() -> int:
        request = APIRequestFactory().post("/ingest/", {}, format="json")
        force_authenticate(request, user=AnonymousUser(), token=api_key)
        return view(request).status_code

    with _rates(api="1/min", ingest="3/min"):
        assert [ingest() for _ in range(4)] == [202, 202, 202, 429]
        assert api.get("/api/v1/apps/").status_code == 200
        assert api.get("/api/v1/apps/").status_code == 429


def test_service_validation_errors_become_field_errors() -> None:
    error = DjangoValidationError({"__all__": ["Both at once."], "event_field": ["Taken."]})

    response = exception_handler(error, {})

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Both at once."], "event_field": ["Taken."]}


def test_a_validation_error_without_a_field_is_a_non_field_error() -> None:
    response = exception_handler(DjangoValidationError("Not like this."), {})

    assert (response.status_code, response.data) == (400, {"non_field_errors": ["Not like this."]})


def test_a_404_keeps_the_selectors_words() -> None:
    response = exception_handler(Http404("No such app."), {})

    assert (response.status_code, response.data) == (404, {"detail": "No such app."})


def test_a_list_of_messages_becomes_the_detail() -> None:
    response = exception_handler(exceptions.ValidationError(["Send an object.", "Not a list."]), {})

    assert (response.status_code, response.data) == (400, {"detail": "Send an object. Not a list."})


def test_a_body_that_is_not_json_is_a_400_with_a_detail(organization: Organization) -> None:
    response = api_client_for(organization).post("/api/v1/apps/", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}
