"""The Members page (/settings/members/): owners list, invite, change roles and remove; members only read.

Invitations themselves (sending, answering, leaving) are in tests/test_invitations.py."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.page_helpers import field_errors, page_text
from trackerui.accounts.models import Membership, Organization
from trackerui.accounts.services import membership_set_role


def members_page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        page_text(client, "/settings/members/")
    return len(queries)


def role_of(user: User, organization: Organization) -> str | None:
    membership = Membership.objects.filter(user=user, organization=organization).first()
    return membership.role if membership else None


def test_it_lists_the_organizations_members_with_their_role(
    signed_in_client: Client, member: User, plain_member: User
) -> None:
    outsider = MembershipFactory(organization=OrganizationFactory()).user
    html = page_text(signed_in_client, "/settings/members/")
    assert member.username in html and plain_member.username in html
    assert outsider.username not in html
    assert "Owner" in html and "Member" in html


def test_the_navigation_links_to_the_members_page(signed_in_client: Client) -> None:
    assert 'href="/settings/members/"' in page_text(signed_in_client, "/settings/api-keys/")


def test_an_owner_invites_an_existing_user_who_is_no_member_until_she_accepts(
    signed_in_client: Client, organization: Organization
) -> None:
    newcomer = UserFactory(username="bob")
    response = signed_in_client.post("/settings/members/", {"invitee": "bob"}, follow=True)
    assert f"Invitation sent to bob. They join {organization.name} once they accept it." in response.content.decode()
    assert role_of(newcomer, organization) is None


def test_the_old_add_by_username_form_is_gone(signed_in_client: Client, organization: Organization) -> None:
    UserFactory(username="bob")
    response = signed_in_client.post("/settings/members/", {"username": "bob"})
    assert response.status_code == 200
    assert "This field is required" in field_errors(response.content.decode(), "invitee")
    assert "bob" not in response.content.decode()
    assert Membership.objects.filter(organization=organization).count() == 1


def test_inviting_never_says_whether_a_username_exists(signed_in_client: Client) -> None:
    UserFactory(username="bob")
    for name in ("bob", "nobody"):
        html = signed_in_client.post("/settings/members/", {"invitee": name}, follow=True).content.decode()
        assert f"Invitation sent to {name}." in html
        assert "There is no user" not in html and "already in" not in html


def test_inviting_someone_already_in_keeps_their_role(
    signed_in_client: Client, organization: Organization, plain_member: User
) -> None:
    response = signed_in_client.post("/settings/members/", {"invitee": plain_member.username}, follow=True)
    assert f"Invitation sent to {plain_member.username}." in response.content.decode()
    assert role_of(plain_member, organization) == Membership.Role.MEMBER


def test_an_owner_changes_a_role_both_ways(
    signed_in_client: Client, organization: Organization, plain_member: User
) -> None:
    membership = Membership.objects.get(user=plain_member)
    signed_in_client.post(f"/settings/members/{membership.pk}/role/", {"role": "owner"})
    assert role_of(plain_member, organization) == Membership.Role.OWNER
    signed_in_client.post(f"/settings/members/{membership.pk}/role/", {"role": "member"})
    assert role_of(plain_member, organization) == Membership.Role.MEMBER


def test_the_last_owner_cannot_step_down_or_be_removed(
    signed_in_client: Client, organization: Organization, member: User
) -> None:
    membership = Membership.objects.get(user=member)
    for path, data in ((f"/settings/members/{membership.pk}/role/", {"role": "member"}),
                       (f"/settings/members/{membership.pk}/remove/", {})):
        response = signed_in_client.post(path, data, follow=True)
        assert f"{member.username} is the last owner of {organization.name}" in response.content.decode()
        assert role_of(member, organization) == Membership.Role.OWNER


def test_an_owner_can_step_down_once_there_is_another_owner(
    signed_in_client: Client, organization: Organization, member: User, plain_member: User
) -> None:
    Membership.objects.filter(user=plain_member).update(role=Membership.Role.OWNER)
    membership = Membership.objects.get(user=member)
    signed_in_client.post(f"/settings/members/{membership.pk}/role/", {"role": "member"})
    assert role_of(member, organization) == Membership.Role.MEMBER


def test_an_owner_removes_a_member(signed_in_client: Client, organization: Organization, plain_member: User) -> None:
    membership = Membership.objects.get(user=plain_member)
    response = signed_in_client.post(f"/settings/members/{membership.pk}/remove/", follow=True)
    assert f"{plain_member.username} is no longer in {organization.name}" in response.content.decode()
    assert role_of(plain_member, organization) is None


def test_another_organizations_membership_is_a_404(signed_in_client: Client) -> None:
    theirs = MembershipFactory(organization=OrganizationFactory())
    assert signed_in_client.post(f"/settings/members/{theirs.pk}/remove/").status_code == 404
    assert signed_in_client.post(f"/settings/members/{theirs.pk}/role/", {"role": "member"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk, role=Membership.Role.OWNER).exists()


def test_a_member_sees_the_list_read_only(plain_member_client: Client, organization: Organization) -> None:
    html = page_text(plain_member_client, "/settings/members/")
    assert f"Only an owner of {organization.name} can invite, remove or change members" in html
    assert "Send invitation" not in html and "/remove/" not in html and "/role/" not in html
    assert "/withdraw/" not in html
    # Their own row offers to leave.
    assert f"Leave {organization.name}" in html


def test_a_member_gets_a_403_for_every_change(
    plain_member_client: Client, organization: Organization, member: User, plain_member: User
) -> None:
    UserFactory(username="bob")
    owner = Membership.objects.get(user=member)
    mine = Membership.objects.get(user=plain_member)
    attempts = [
        ("/settings/members/", {"invitee": "bob"}),
        (f"/settings/members/{mine.pk}/role/", {"role": "owner"}),
        (f"/settings/members/{owner.pk}/role/", {"role": "member"}),
        (f"/settings/members/{owner.pk}/remove/", {}),
    ]
    for path, data in attempts:
        response = plain_member_client.post(path, data)
        assert response.status_code == 403, path
        assert f"Only an owner of {organization.name} can manage members" in response.content.decode()
    assert sorted(Membership.objects.values_list("user__username", "role")) == sorted(
        [(member.username, "owner"), (plain_member.username, "member")])


def test_a_deleted_users_membership_changes_still_show(
    signed_in_client: Client, organization: Organization, plain_member: User
) -> None:
    user_id = plain_member.pk
    plain_member.delete()
    html = page_text(signed_in_client, "/settings/members/")
    assert f"deleted user #{user_id} in {organization.name} (member)" in html
    assert plain_member.username not in html


def test_the_changes_on_the_page_cost_no_query_each(
    signed_in_client: Client, organization: Organization, plain_member: User
) -> None:
    # Three changes: two members added, one role changed (so one row has a row before it).
    membership_set_role(membership=Membership.objects.get(user=plain_member), role="owner")
    members_page_queries(signed_in_client)  # The first request also loads what the session caches.
    few_changes = members_page_queries(signed_in_client)
    for _ in range(5):
        newcomer = MembershipFactory(organization=organization, role=Membership.Role.MEMBER)
        membership_set_role(membership=newcomer, role="owner")
    assert Membership.audit_trail.filter(organization_id=organization.pk).count() == 13
    assert members_page_queries(signed_in_client) == few_changes
