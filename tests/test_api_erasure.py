"""`POST /api/v1/devices/forget/`, `POST /api/v1/opendsr/requests` and `GET /api/v1/opendsr/requests/{id}`."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery.models import Erasure, TrackedEvent
from mappings.models import App
from tests.api_helpers import api_client_for
from tests.factories import DeliveryFactory, OrganizationFactory
from trackerui.accounts.authentication import INGEST_SCOPE_MESSAGE
from trackerui.accounts.models import Organization

IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
KEY = IFA.replace("-", "").lower()
FORGET = "/api/v1/devices/forget/"
OPENDSR = "/api/v1/opendsr/requests"


@pytest.fixture
def device_delivery(app: App) -> Any:
    return DeliveryFactory(event__app=app, event__device=KEY)


def opendsr_body(**changes: Any) -> dict[str, Any]:
    body = {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": "erasure",
        "submitted_time": "2025-03-01T10:00:00Z",
        "subject_identities": [{"identity_type": "ios_advertising_id", "identity_value": IFA,
                                "identity_format": "raw"}],
        "api_version": "3.0",
    }
    body.update(changes)
    return body


# Forget a device


def test_a_full_key_forgets_a_device_and_hears_the_counts(api: APIClient, device_delivery: Any) -> None:
    response = api.post(FORGET, {"identifiers": {"ifa": IFA}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["erased"] == {"tracked_events": 1, "deliveries": 1, "attempts": 0, "device_levels": 0,
                              "catalogue_examples": 0, "rejection_examples": 0}
    assert body["status"] == "completed" and body["completed_at"]
    assert not TrackedEvent.objects.exists()


@pytest.mark.parametrize("identifiers", [{"ifa": KEY}, {"ifa": KEY.upper()}, {"gaid": IFA.lower()}, {"uuid": IFA}])
def test_any_accepted_form_of_an_identifier_finds_the_device(
    api: APIClient, device_delivery: Any, identifiers: dict[str, str]
) -> None:
    assert api.post(FORGET, {"identifiers": identifiers}, format="json").json()["erased"]["tracked_events"] == 1


def test_a_signed_in_owner_may_forget_a_device(signed_in_client: Any, device_delivery: Any) -> None:
    response = signed_in_client.post(FORGET, {"identifiers": {"ifa": IFA}}, content_type="application/json")
    assert response.status_code == 200


def test_a_member_may_not_forget_a_device(member_api: APIClient, device_delivery: Any) -> None:
    response = member_api.post(FORGET, {"identifiers": {"ifa": IFA}}, format="json")
    assert response.status_code == 403
    assert "Only an owner" in response.json()["detail"]
    assert TrackedEvent.objects.exists()


def test_an_ingest_key_gets_a_403(ingest_api: APIClient, device_delivery: Any) -> None:
    response = ingest_api.post(FORGET, {"identifiers": {"ifa": IFA}}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": INGEST_SCOPE_MESSAGE}
    assert TrackedEvent.objects.exists()
    assert ingest_api.post(OPENDSR, opendsr_body(), format="json").status_code == 403


def test_no_key_gets_a_401(client: Any) -> None:
    assert client.post(FORGET, {"identifiers": {"ifa": IFA}}, content_type="application/json").status_code == 401


def test_another_organizations_device_rows_are_not_touched(device_delivery: Any) -> None:
    other = api_client_for(OrganizationFactory())
    assert other.post(FORGET, {"identifiers": {"ifa": IFA}}, format="json").json()["erased"]["tracked_events"] == 0
    assert TrackedEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, ["This field is required."]),
        ({"identifiers": {}}, ["Name the device by at least one of ifa, gaid or uuid"]),
        ({"identifiers": "abc"}, ["Name the device by at least one of ifa, gaid or uuid"]),
        ({"identifiers": {"ifa": "not-an-ifa"}}, {"ifa": "32 hexadecimal characters"}),
        ({"identifiers": {"ifa": "00000000-0000-0000-0000-000000000000"}}, {"ifa": "identifies nobody"}),
        ({"identifiers": {"imei": "123"}}, {"imei": "a device is named by ifa, gaid or uuid"}),
        ({"identifiers": {"uuid": ""}}, {"uuid": "non-empty string"}),
        ({"identifiers": {"uuid": "x" * 65}}, {"uuid": "At most 64"}),
        ({"identifiers": {"uuid": "player\u0000one"}}, {"uuid": "Control characters"}),
    ],
)
def test_bad_identifiers_answer_400_naming_them(api: APIClient, body: dict, errors: list | dict) -> None:
    response = api.post(FORGET, body, format="json")
    assert response.status_code == 400, response.content
    answer = response.json()["identifiers"]
    if isinstance(errors, dict):
        assert list(answer) == list(errors)
        for name, message in errors.items():
            assert message in answer[name][0]
    else:
        assert errors[0] in answer[0]
    assert not Erasure.objects.exists()


# OpenDSR


def test_an_opendsr_erasure_answers_201_with_its_times(api: APIClient, device_delivery: Any) -> None:
    body = opendsr_body()
    response = api.post(OPENDSR, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"subject_request_id", "received_time", "expected_completion_time"}
    assert answer["subject_request_id"] == body["subject_request_id"]
    assert not TrackedEvent.objects.exists()
    status = api.get(f"{OPENDSR}/{body['subject_request_id']}")
    assert status.status_code == 200
    assert status.json()["request_status"] == "completed"
    assert status.json()["subject_request_id"] == body["subject_request_id"]


def test_a_sha256_identity_finds_the_device(api: APIClient, device_delivery: Any) -> None:
    identity = {"identity_type": "ios_advertising_id", "identity_format": "sha256",
                "identity_value": hashlib.sha256(IFA.lower().encode()).hexdigest().upper()}
    # The device as stored by ingestion: its digest beside its identity.
    TrackedEvent.objects.update(device_sha256=hashlib.sha256(IFA.lower().encode()).hexdigest())
    response = api.post(OPENDSR, opendsr_body(subject_identities=[identity]), format="json")
    assert response.status_code == 201, response.content
    assert not TrackedEvent.objects.exists()
    assert Erasure.objects.get().tracked_events == 1


def test_the_same_request_sent_twice_answers_the_first(api: APIClient, device_delivery: Any) -> None:
    body = opendsr_body()
    first = api.post(OPENDSR, body, format="json")
    again = api.post(OPENDSR, body, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Erasure.objects.count() == 1


@pytest.mark.parametrize("kind", ["access", "portability", "delete"])
def test_other_request_types_answer_400_saying_which_are_supported(api: APIClient, kind: str) -> None:
    response = api.post(OPENDSR, opendsr_body(subject_request_type=kind), format="json")
    assert response.status_code == 400
    assert "Only erasure requests are supported" in response.json()["subject_request_type"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject_request_id": "not-a-uuid"}, "subject_request_id"),
        ({"submitted_time": "yesterday"}, "submitted_time"),
        ({"subject_identities": []}, "subject_identities"),
        ({"subject_identities": [{"identity_type": "email", "identity_value": "a@b.c"}]}, "subject_identities"),
        ({"subject_identities": [{"identity_type": "ios_advertising_id", "identity_value": "abc",
                                  "identity_format": "sha256"}]}, "subject_identities"),
        ({"subject_identities": [{"identity_type": "ios_advertising_id", "identity_value": "abc"}]},
         "subject_identities"),
    ],
)
def test_a_bad_request_answers_400_naming_the_field(api: APIClient, changes: dict, field: str) -> None:
    response = api.post(OPENDSR, opendsr_body(**changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Erasure.objects.exists()


def test_another_organizations_request_is_a_404(api: APIClient, organization: Organization) -> None:
    other = api_client_for(OrganizationFactory())
    body = opendsr_body()
    assert other.post(OPENDSR, body, format="json").status_code == 201
    assert api.get(f"{OPENDSR}/{body['subject_request_id']}").status_code == 404
    # The same id is its own request in each organization.
    assert api.post(OPENDSR, body, format="json").status_code == 201


def test_an_unknown_or_malformed_request_id_is_a_404(api: APIClient) -> None:
    assert api.get(f"{OPENDSR}/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{OPENDSR}/not-a-uuid").status_code == 404


def test_a_member_may_read_a_requests_status_but_not_send_one(member_api: APIClient, api: APIClient) -> None:
    body = opendsr_body()
    assert member_api.post(OPENDSR, body, format="json").status_code == 403
    api.post(OPENDSR, body, format="json")
    assert member_api.get(f"{OPENDSR}/{body['subject_request_id']}").json()["request_status"] == "completed"
