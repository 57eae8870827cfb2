"""`manage.py create_org` and `manage.py create_api_key`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import OrganizationFactory, UserFactory
from trackerui.accounts.models import ApiKey, Membership, Organization
from trackerui.accounts.selectors import api_key_for_raw


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_org_creates_an_organization_named_after_its_slug_by_default(db: None) -> None:
    out, _ = run("create_org", "puzzle-co")
    organization = Organization.objects.get(slug="puzzle-co")
    assert organization.name == "puzzle-co"
    assert "Created organization puzzle-co" in out


def test_create_org_makes_an_existing_user_its_owner(db: None) -> None:
    user = UserFactory(username="alice")
    out, _ = run("create_org", "puzzle-co", "--name", "Puzzle Co", "--owner", "alice")
    membership = Membership.objects.get(user=user)
    assert (membership.organization.name, membership.role) == ("Puzzle Co", Membership.Role.OWNER)
    assert "alice is an owner" in out


def test_create_org_run_again_updates_the_name_and_keeps_one_organization(db: None) -> None:
    run("create_org", "puzzle-co", "--name", "Puzzle Co")
    out, _ = run("create_org", "puzzle-co", "--name", "Puzzle Company")
    assert list(Organization.objects.values_list("name", flat=True)) == ["Puzzle Company"]
    assert out.startswith("Updated organization puzzle-co")


def test_create_org_refuses_an_unknown_owner(db: None) -> None:
    with pytest.raises(CommandError, match="There is no user named 'nobody'"):
        run("create_org", "puzzle-co", "--owner", "nobody")
    assert not Organization.objects.exists()


def test_create_api_key_prints_a_working_key_as_its_last_line(db: None) -> None:
    organization = OrganizationFactory(slug="puzzle-co")
    out, err = run("create_api_key", "puzzle-co")
    raw_key = out.strip().splitlines()[-1]
    api_key = api_key_for_raw(raw_key)
    assert api_key is not None and api_key.organization == organization
    assert api_key.prefix in err and "shown once" in err
    assert api_key.key_hash != raw_key


def test_create_api_key_refuses_an_unknown_organization(db: None) -> None:
    with pytest.raises(CommandError, match="There is no organization 'nowhere'"):
        run("create_api_key", "nowhere")


def test_create_org_adds_an_existing_user_as_a_member(db: None) -> None:
    UserFactory(username="alice")
    bob = UserFactory(username="bob")
    out, _ = run("create_org", "puzzle-co", "--owner", "alice", "--member", "bob")
    assert Membership.objects.get(user=bob).role == Membership.Role.MEMBER
    assert "alice is an owner; bob is a member" in out


def test_create_org_member_keeps_an_owner_an_owner(db: None) -> None:
    alice = UserFactory(username="alice")
    run("create_org", "puzzle-co", "--owner", "alice")
    out, _ = run("create_org", "puzzle-co", "--member", "alice")
    assert Membership.objects.get(user=alice).role == Membership.Role.OWNER
    assert "alice is an owner" in out


def test_create_org_refuses_an_unknown_member(db: None) -> None:
    with pytest.raises(CommandError, match="There is no user named 'nobody'"):
        run("create_org", "puzzle-co", "--member", "nobody")
    assert not Organization.objects.exists()


def test_create_api_key_can_create_an_ingest_key(db: None) -> None:
    OrganizationFactory(slug="puzzle-co")
    out, err = run("create_api_key", "puzzle-co", "--scope", "ingest")
    assert api_key_for_raw(out.strip().splitlines()[-1]).scope == ApiKey.Scope.INGEST
    assert "ingest scope" in err
