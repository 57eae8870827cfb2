"""Helpers for the API tests: clients that act for an organization."""

from __future__ import annotations

from rest_framework.test import APIClient

from trackerui.accounts.models import Organization
from trackerui.accounts.services import api_key_create


def api_client_for(organization: Organization) -> APIClient:
    """A client sending a fresh API key of the organization as `Authorization: Bearer ...`."""
    _, raw_key = api_key_create(organization=organization, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client
