"""The OpenAPI schema's view of our API: every operation documents the errors it can answer.

drf-spectacular documents only the success response by default. Clients (and the
schemathesis run in the test suite) need the error answers too, so each operation gets
the ones the project-wide machinery can produce: 400 for input it validates, 401 without
valid credentials, 403 for a session without an organization or CSRF token, 404 for
another organization's object or a page past the end, and 429 when throttled.

This lives apart from `trackerui.foundation.api` because drf_spectacular.openapi imports
rest_framework.views, which imports `trackerui.foundation.api` for its throttle class.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'Field errors, `{"field": ["message", ...]}`, or `{"detail": "message"}` when no single '
    "field is to blame (for example a body that is not JSON).",
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    },
}

ERROR_RESPONSES: dict[str, OpenApiResponse] = {
    "400": OpenApiResponse(FIELD_ERRORS_SCHEMA, description="The input is not valid."),
    "401": OpenApiResponse(DETAIL_SCHEMA, description="No API key, or a wrong or revoked one."),
    "403": OpenApiResponse(
        DETAIL_SCHEMA,
        description="Signed in without an organization, a session request without CSRF token, a member "
        "trying an owner's action, or an `ingest` API key used for anything but sending events.",
    ),
    "404": OpenApiResponse(
        DETAIL_SCHEMA, description="No such object in your organization (or no such page of results)."
    ),
    "429": OpenApiResponse(DETAIL_SCHEMA, description="Too many requests: wait `Retry-After` seconds."),
}

METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}

# Every POST but ingestion takes an Idempotency-Key (trackerui/accounts/idempotency.py).
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    required=False,
    description="Optional, 1-255 characters, kept 24 hours per API key (or signed-in user). Sent again with "
    "the same request, the first answer is replayed (status and body) with `Idempotent-Replayed: true`; "
    "with another request (method, path or body), 422; while the first is still running, 409.",
)
IDEMPOTENCY_RESPONSES: dict[str, OpenApiResponse] = {
    "409": OpenApiResponse(DETAIL_SCHEMA, description="A request with this Idempotency-Key is still running."),
    "422": OpenApiResponse(DETAIL_SCHEMA, description="This Idempotency-Key was used with another request."),
}
# Every answer that counted against a limit says so, as the IETF RateLimit header fields draft
# (revision 11) writes it (trackerui/foundation/rate_limit_headers.py).
RATE_LIMIT_HEADERS = [
    OpenApiParameter("RateLimit-Policy", {"type": "string"}, OpenApiParameter.HEADER, response=True,
                     description='The limit this request counts against: `"api";q=1200;w=60` is 1200 requests '
                     "per 60 s window under the policy named api (`ingest` for ingestion)."),
    OpenApiParameter("RateLimit", {"type": "string"}, OpenApiParameter.HEADER, response=True,
                     description='What is left: `"api";r=1187;t=42` is 1187 more requests in the 42 s until '
                     "the window ends. A 429 also carries `Retry-After`."),
]
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed", {"type": "string", "enum": ["true"]}, OpenApiParameter.HEADER, response=True,
    description="Present on an answer replayed for a repeated Idempotency-Key.",
)


class ApiAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters = [*super().get_override_parameters(), *RATE_LIMIT_HEADERS]
        if self._takes_idempotency_keys():
            parameters += [IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER]
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = {**ERROR_RESPONSES, **(IDEMPOTENCY_RESPONSES if self._takes_idempotency_keys() else {})}
        for code, response in errors.items():
            if code in responses or not self._can_answer(code):
                continue
            responses[code] = self._get_response_for_code(response, code, direction=direction)
        for code, response in responses.items():
            # drf-spectacular's own short cut for a DELETE documents no headers: the RateLimit ones go on it too.
            if "headers" not in response and (headers := self._get_response_headers_for_code(code, direction)):
                response["headers"] = headers
        return responses

    def _takes_idempotency_keys(self) -> bool:
        return self.method == "POST" and getattr(self.view, "takes_idempotency_keys", True)

    def _can_answer(self, code: str) -> bool:
        if code == "400":
            return self.method in METHODS_WITH_BODY or bool(self._get_query_parameters())
        return True

    def _get_query_parameters(self) -> list[Any]:
        return [
            parameter
            for parameter in self._get_parameters()
            if parameter.get("in") == "query"
        ]
