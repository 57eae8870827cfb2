"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD, AppFactory, MembershipFactory


@pytest.fixture
def member(db):
    """A user who belongs to one organization."""
    return MembershipFactory().user


@pytest.fixture
def organization(member):
    return member.organizations.get()


@pytest.fixture
def signed_in_client(member) -> Client:
    client = Client()
    assert client.login(username=member.username, password=PASSWORD)
    return client


@pytest.fixture
def app(organization):
    return AppFactory(organization=organization)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # The default hasher takes about a second per password on these 2-core machines;
    # tests check who may sign in, not how strongly passwords are stored.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
