"""Helpers for the API tests: clients that act for an organization, and another organization's app.

Its fixtures reach every test through `pytest_plugins` in tests/conftest.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from mappings.models import App
from tests.factories import AppFactory, OrganizationFactory
from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.services import api_key_create


def api_client_for(organization: Organization, scope: str = ApiKey.Scope.FULL) -> APIClient:
    """A client sending a fresh API key of the organization as `Authorization: Bearer ...`."""
    _, raw_key = api_key_create(organization=organization, name="tests", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api(organization: Organization) -> APIClient:
    """A client acting for the signed-in member's organization."""
    return api_client_for(organization)


@pytest.fixture
def ingest_api(organization: Organization) -> APIClient:
    """A client with an `ingest` key of the organization: it may only send events."""
    return api_client_for(organization, scope=ApiKey.Scope.INGEST)


@pytest.fixture
def member_api(plain_member: User) -> APIClient:
    """A client signed in (session) as a user with the member role."""
    client = APIClient()
    client.force_login(plain_member)
    return client


@pytest.fixture
def other_app(db: None) -> App:
    """An app of another organization, which the `api` client must never see."""
    return AppFactory(organization=OrganizationFactory())
