"""/api/v1/ erasure: "Forget a device" and OpenDSR erasure requests, both through `delivery/erasure.py`.

Both are an owner's action (`trackerui/accounts/roles.py::ERASE_DEVICES`): a full API key or a
signed-in owner; an ingest key gets the 403 every non-ingest view gives.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.erasure import (
    DeviceSubject,
    advertising_id_problem,
    device_forget,
    erasure_get_for_organization,
    opendsr_request_submit,
    subject_from_identifiers,
)
from delivery.ingest.schema import device_identity
from delivery.models import Erasure
from trackerui.accounts import roles
from trackerui.accounts.selectors import organization_for_request

OPENDSR_TYPES = ("erasure",)
IDENTITY_TYPES = ("ios_advertising_id", "android_advertising_id", "fire_advertising_id")
IDENTITY_FORMATS = ("raw", "sha256")
SHA256_HEX_LENGTH = 64
IFA_EXAMPLE = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
REQUEST_ID_EXAMPLE = "a7551968-d5d6-44b2-9831-815ac9017798"


class ErasedCountsSerializer(serializers.Serializer):
    tracked_events = serializers.IntegerField()
    deliveries = serializers.IntegerField()
    attempts = serializers.IntegerField(help_text="Attempts, with the requests we stored.")
    device_levels = serializers.IntegerField(help_text="The sequential rule's high-water marks.")
    catalogue_examples = serializers.IntegerField(help_text="Event names' example properties cleared.")
    rejection_examples = serializers.IntegerField(help_text="Rejected events' examples cleared.")


class ForgetInputSerializer(serializers.Serializer):
    identifiers = serializers.JSONField(
        help_text="`ifa`, `gaid` and/or `uuid`, in any form ingestion accepts (uppercase, with or without dashes)."
    )

    def validate_identifiers(self, value: Any) -> DeviceSubject:
        # The one rule, shared with the page; its errors name each bad identifier under `identifiers`.
        try:
            return subject_from_identifiers(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages) from error


class ForgetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The erasure's id, as the audit trail names it.")
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    erased = ErasedCountsSerializer(source="counts")


@extend_schema(tags=["privacy"])
class DeviceForgetApi(APIView):
    owner_actions = {"POST": roles.ERASE_DEVICES}

    @extend_schema(
        operation_id="devices_forget",
        request=ForgetInputSerializer,
        responses={200: ForgetOutputSerializer},
        description="Erase a device from every app of the organization: its tracked events, deliveries, "
        "attempts, levels, and the catalogue and rejection examples that came from it. Stats keep their "
        "counts. Answers how many of each were erased; the audit trail records who asked, never the identifier.",
        examples=[
            OpenApiExample("By ifa", request_only=True, value={"identifiers": {"ifa": IFA_EXAMPLE}}),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ForgetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erasure = device_forget(organization=organization_for_request(request),
                                subject=serializer.validated_data["identifiers"])
        return Response(ForgetOutputSerializer(erasure).data)


class SubjectIdentitySerializer(serializers.Serializer):
    identity_type = serializers.ChoiceField(choices=IDENTITY_TYPES)
    identity_value = serializers.CharField(max_length=200)
    identity_format = serializers.ChoiceField(choices=IDENTITY_FORMATS, default="raw")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        value = attrs["identity_value"].strip()
        if attrs["identity_format"] == "sha256":
            digest = value.lower()
            if len(digest) != SHA256_HEX_LENGTH or any(c not in "0123456789abcdef" for c in digest):
                raise serializers.ValidationError(
                    {"identity_value": ["A sha256 identity is 64 hexadecimal characters."]})
            attrs["identity_value"] = digest
        else:
            problem = advertising_id_problem(value)
            if problem:
                raise serializers.ValidationError({"identity_value": [problem]})
            attrs["identity_value"] = value
        return attrs


class OpenDsrRequestInputSerializer(serializers.Serializer):
    subject_request_id = serializers.UUIDField(help_text="Your id for the request, a UUID.")
    subject_request_type = serializers.CharField(help_text="Only `erasure` is supported.")
    submitted_time = serializers.DateTimeField(help_text="When the data subject asked, ISO 8601.")
    subject_identities = SubjectIdentitySerializer(many=True, allow_empty=False)
    api_version = serializers.CharField(required=False, help_text="Read and ignored.")
    property_id = serializers.CharField(required=False, help_text="Read and ignored.")
    status_callback_urls = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Read and ignored: no callbacks are made; ask for the status instead.",
    )

    def validate_subject_request_type(self, value: str) -> str:
        if value not in OPENDSR_TYPES:
            raise serializers.ValidationError(
                f"Only {', '.join(OPENDSR_TYPES)} requests are supported (subject_request_type "
                f"{', '.join(repr(kind) for kind in OPENDSR_TYPES)}).")
        return value

    def subject(self) -> DeviceSubject:
        identities = self.validated_data["subject_identities"]
        return DeviceSubject(
            keys=frozenset(device_identity(i["identity_value"]) for i in identities if i["identity_format"] == "raw"),
            digests=frozenset(i["identity_value"] for i in identities if i["identity_format"] == "sha256"),
        )


class OpenDsrRequestOutputSerializer(serializers.Serializer):
    subject_request_id = serializers.UUIDField()
    received_time = serializers.DateTimeField(source="received_at")
    expected_completion_time = serializers.DateTimeField(
        help_text="When it was completed, or is expected to be: requests are carried out as they arrive.")

    def to_representation(self, instance: Erasure) -> dict[str, Any]:
        instance.expected_completion_time = instance.completed_at or instance.received_at
        return super().to_representation(instance)


class OpenDsrStatusOutputSerializer(OpenDsrRequestOutputSerializer):
    request_status = serializers.ChoiceField(source="status", choices=Erasure.Status.choices)


@extend_schema(tags=["privacy"])
class OpenDsrRequestApi(APIView):
    owner_actions = {"POST": roles.ERASE_DEVICES}

    @extend_schema(
        operation_id="opendsr_requests_create",
        request=OpenDsrRequestInputSerializer,
        responses={201: OpenDsrRequestOutputSerializer, 200: OpenDsrRequestOutputSerializer},
        description="An OpenDSR erasure request: the same erasure as `POST /api/v1/devices/forget/`, for the "
        "advertising ids named raw or as the SHA-256 of the id as the device sends it, lowercase. 201 for a new "
        "request; the same `subject_request_id` sent again answers that request with 200.",
        examples=[OpenApiExample("Erase an iOS device", request_only=True, value={
            "subject_request_id": REQUEST_ID_EXAMPLE, "subject_request_type": "erasure",
            "submitted_time": "2025-03-01T10:00:00Z",
            "subject_identities": [{"identity_type": "ios_advertising_id", "identity_value": IFA_EXAMPLE,
                                    "identity_format": "raw"}],
        })],
    )
    def post(self, request: Request) -> Response:
        serializer = OpenDsrRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erasure, created = opendsr_request_submit(
            organization=organization_for_request(request),
            subject_request_id=serializer.validated_data["subject_request_id"],
            submitted_at=serializer.validated_data["submitted_time"],
            subject=serializer.subject(),
        )
        return Response(OpenDsrRequestOutputSerializer(erasure).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(tags=["privacy"])
class OpenDsrRequestStatusApi(APIView):
    @extend_schema(
        operation_id="opendsr_requests_status",
        parameters=[OpenApiParameter("subject_request_id", str, OpenApiParameter.PATH,
                                     description="The request's `subject_request_id`.")],
        responses={200: OpenDsrStatusOutputSerializer},
        description="Where an OpenDSR request stands: `request_status` is `pending`, `in_progress` or `completed`.",
    )
    def get(self, request: Request, subject_request_id: Any) -> Response:
        erasure = erasure_get_for_organization(organization_for_request(request), subject_request_id)
        if erasure is None:
            raise NotFound()
        return Response(OpenDsrStatusOutputSerializer(erasure).data)
