"""Membership by invitation: an owner invites by username or e-mail, the answer never tells whether
such a user exists, and the invited user accepts or declines; any member may leave, but the last owner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api_helpers import api_client_for
from tests.factories import AppFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.page_helpers import field_errors, page_text, unescape
from trackerui.accounts.models import ApiKey, Invitation, Membership, Organization
from trackerui.accounts.selectors import membership_changes


@pytest.fixture
def ana(db: None) -> User:
    """A user of another organization, Zeta Games, who is no member of the owner's."""
    return MembershipFactory(organization=OrganizationFactory(slug="zeta", name="Zeta Games"),
                             user=UserFactory(username="ana", email="ana@zeta.example")).user


@pytest.fixture
def ana_client(ana: User) -> Client:
    client = Client()
    client.force_login(ana)
    return client


def invite(client: Client, invitee: str) -> str:
    response = client.post("/settings/members/", {"invitee": invitee}, follow=True)
    assert response.status_code == 200
    return unescape(response.content.decode())


def visible_text(html: str) -> str:
    """The page as read, without the CSRF tokens, times and ids that differ between two requests."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r"<time[^>]*>.*?</time>", "", html, flags=re.S)
    html = re.sub(r"/invitations/\d+/", "/invitations/N/", html)
    return html.replace("ana", "INVITEE").replace("nobody-here", "INVITEE")


def test_inviting_an_existing_user_and_an_unknown_one_answers_alike(
    signed_in_client: Client, organization: Organization, ana: User
) -> None:
    existing = invite(signed_in_client, "ana")
    unknown = invite(signed_in_client, "nobody-here")
    assert "Invitation sent to ana." in existing and "Invitation sent to nobody-here." in unknown
    # Nobody joined: the user who exists is no member until she says yes.
    assert not Membership.objects.filter(organization=organization, user=ana).exists()


def answer_and_invitations(html: str) -> str:
    """The message the owner gets and the pending invitations list, as she reads them."""
    messages = html[html.index('<ul class="messages">'):html.index("</ul>", html.index('<ul class="messages">'))]
    pending = html[html.index('id="invitations"'):html.index("</section>", html.index('id="invitations"'))]
    return visible_text(messages + pending)


def test_the_invite_answer_and_page_are_the_same_whether_or_not_the_user_exists(ana: User) -> None:
    answers = []
    for invitee in ("ana", "nobody-here"):
        owner = MembershipFactory(organization=OrganizationFactory(name="Same Name"), user=UserFactory(
            username=f"owner-of-{invitee}")).user
        client = Client()
        client.force_login(owner)
        answers.append(answer_and_invitations(invite(client, invitee)).replace(owner.username, "OWNER"))
    assert "Invitation sent to INVITEE." in answers[0]
    assert answers[0] == answers[1]


def test_the_api_answers_alike_for_an_existing_user_and_an_unknown_one(organization: Organization, ana: User) -> None:
    api = api_client_for(organization)
    answers = [api.post("/api/v1/invitations/", {"invitee": name}, format="json") for name in ("ana", "nobody")]
    assert [a.status_code for a in answers] == [201, 201]
    shapes = [{k: v for k, v in a.json().items() if k not in ("id", "invitee", "created_at", "expires_at")}
              for a in answers]
    assert shapes[0] == shapes[1] == {"status": "pending", "invited_by": None, "answered_at": None}
    assert "user" not in answers[0].json()


def test_an_invited_user_with_an_address_gets_an_email_and_the_answer_does_not_change(
    signed_in_client: Client, organization: Organization, ana: User, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        invite(signed_in_client, "ana@zeta.example")
    assert [m.to for m in mail.outbox] == [["ana@zeta.example"]]
    assert organization.name in mail.outbox[0].subject
    assert "/invitations/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        invite(signed_in_client, "nobody@nowhere.example")
    assert len(mail.outbox) == 1


def test_an_invitation_by_email_reaches_the_user_with_that_address(signed_in_client: Client, ana: User) -> None:
    invite(signed_in_client, "ANA@zeta.example")
    assert Invitation.objects.get().user == ana


def test_until_she_accepts_the_invited_user_sees_nothing_of_the_organization(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    app = AppFactory(organization=organization, name="Their secret game")
    invite(signed_in_client, "ana")
    html = page_text(ana_client, "/apps/")
    assert "You are invited to join an organization" in html
    assert organization.name not in html and "Their secret game" not in html
    assert ana_client.get(f"/apps/{app.pk}/").status_code == 404
    ana_client.post("/accounts/organization/", {"organization": organization.pk})
    assert ana_client.session.get("organization_id") != organization.pk
    assert ana_client.get(f"/apps/{app.pk}/").status_code == 404


def test_accepting_makes_her_a_member_and_keeps_her_working_where_she_was(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    # The inviting organization's name comes first: the old default (first by name) would have moved her.
    Organization.objects.filter(pk=organization.pk).update(name="Aardvark Studio")
    AppFactory(organization=ana.organizations.get(), name="Zeta game")
    theirs = AppFactory(organization=organization, name="Aardvark game")
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    assert "Aardvark Studio" in page_text(ana_client, "/invitations/")
    response = ana_client.post(f"/invitations/{invitation.pk}/accept/", follow=True)
    assert "You joined Aardvark Studio as a member. You are still working in Zeta Games" in unescape(
        response.content.decode())
    assert Membership.objects.get(organization=organization, user=ana).role == Membership.Role.MEMBER
    html = page_text(ana_client, "/apps/")
    assert "Zeta game" in html and "Aardvark game" not in html
    # A new session (she signs in again) still starts in the organization she joined first.
    fresh = Client()
    fresh.force_login(ana)
    assert "Zeta game" in page_text(fresh, "/apps/")
    ana_client.post("/accounts/organization/", {"organization": organization.pk})
    assert ana_client.get(f"/apps/{theirs.pk}/").status_code == 200


def test_declining_leaves_her_out(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    response = ana_client.post(f"/invitations/{invitation.pk}/decline/", follow=True)
    assert f"You declined the invitation to {organization.name}" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=ana).exists()
    assert "You are invited" not in page_text(ana_client, "/apps/")
    assert ana_client.post(f"/invitations/{invitation.pk}/accept/").status_code == 302
    assert not Membership.objects.filter(organization=organization, user=ana).exists()


def test_an_invitation_is_answered_only_by_its_invited_user(
    signed_in_client: Client, organization: Organization, ana: User, plain_member_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    stranger = Client()
    stranger.force_login(UserFactory())
    for client in (stranger, plain_member_client, signed_in_client):
        assert client.post(f"/invitations/{invitation.pk}/accept/").status_code == 404
        assert client.post(f"/invitations/{invitation.pk}/decline/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_an_invitation_to_nobody_is_answered_by_nobody(signed_in_client: Client) -> None:
    invite(signed_in_client, "nobody-here")
    invitation = Invitation.objects.get()
    stranger = Client()
    stranger.force_login(UserFactory(username="someone"))
    assert stranger.post(f"/invitations/{invitation.pk}/accept/").status_code == 404


def test_an_invitation_expires_after_seven_days(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert "You are invited" not in page_text(ana_client, "/apps/")
        assert "ana" not in page_text(signed_in_client, "/settings/members/").split('id="invitations"')[1].split(
            "</section>")[0]
        response = ana_client.post(f"/invitations/{invitation.pk}/accept/", follow=True)
        assert "no longer pending: it was expired" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=ana).exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED


def test_an_invitation_six_days_old_can_still_be_accepted(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        ana_client.post(f"/invitations/{invitation.pk}/accept/")
    assert Membership.objects.filter(organization=organization, user=ana).exists()


def test_an_owner_sees_pending_invitations_and_withdraws_one(
    signed_in_client: Client, organization: Organization, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    assert "Withdraw invitation to ana" in page_text(signed_in_client, "/settings/members/")
    response = signed_in_client.post(f"/settings/members/invitations/{invitation.pk}/withdraw/", follow=True)
    assert "The invitation to ana is withdrawn" in response.content.decode()
    assert "You are invited" not in page_text(ana_client, "/apps/")
    assert ana_client.post(f"/invitations/{invitation.pk}/accept/").status_code == 302
    assert not Membership.objects.filter(organization=organization, user=ana).exists()


def test_another_organizations_invitation_is_a_404(signed_in_client: Client, organization: Organization) -> None:
    other = OrganizationFactory()
    theirs = Invitation.objects.create(organization=other, invitee="someone")
    assert signed_in_client.post(f"/settings/members/invitations/{theirs.pk}/withdraw/").status_code == 404
    api = api_client_for(organization)
    assert api.get(f"/api/v1/invitations/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/v1/invitations/{theirs.pk}/").status_code == 404
    assert api.get("/api/v1/invitations/").json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.status == Invitation.Status.PENDING


def test_a_second_pending_invitation_to_the_same_name_is_refused_next_to_the_field(
    signed_in_client: Client
) -> None:
    invite(signed_in_client, "nobody-here")
    response = signed_in_client.post("/settings/members/", {"invitee": "Nobody-Here"})
    assert "already has a pending invitation" in field_errors(response.content.decode(), "invitee")
    assert Invitation.objects.count() == 1


def test_inviting_someone_already_in_answers_the_same_and_reaches_nobody(
    signed_in_client: Client, plain_member: User
) -> None:
    assert f"Invitation sent to {plain_member.username}." in invite(signed_in_client, plain_member.username)
    assert Invitation.objects.get().user is None


def test_a_member_gets_a_403_for_inviting_and_withdrawing(
    plain_member_client: Client, member_api: APIClient, organization: Organization, ana: User
) -> None:
    invitation = Invitation.objects.create(organization=organization, invitee="someone")
    response = plain_member_client.post("/settings/members/", {"invitee": "ana"})
    assert response.status_code == 403
    assert f"Only an owner of {organization.name} can manage members" in response.content.decode()
    assert plain_member_client.post(f"/settings/members/invitations/{invitation.pk}/withdraw/").status_code == 403
    for answer in (member_api.post("/api/v1/invitations/", {"invitee": "ana"}, format="json"),
                   member_api.get("/api/v1/invitations/"),
                   member_api.delete(f"/api/v1/invitations/{invitation.pk}/")):
        assert answer.status_code == 403
        assert answer.json()["detail"] == "Only an owner of this organization can manage members."
    assert Invitation.objects.get().status == Invitation.Status.PENDING
    assert Invitation.objects.count() == 1


def test_an_ingest_key_gets_a_403_and_a_full_key_invites_and_withdraws(organization: Organization) -> None:
    ingest = api_client_for(organization, scope=ApiKey.Scope.INGEST)
    assert ingest.post("/api/v1/invitations/", {"invitee": "x"}, format="json").status_code == 403
    assert ingest.get("/api/v1/invitations/").status_code == 403
    full = api_client_for(organization)
    created = full.post("/api/v1/invitations/", {"invitee": "x@example.com"}, format="json").json()
    assert full.get("/api/v1/invitations/").json()["results"][0]["id"] == created["id"]
    withdrawn = full.delete(f"/api/v1/invitations/{created['id']}/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert full.delete(f"/api/v1/invitations/{created['id']}/").status_code == 409
    assert ingest.delete(f"/api/v1/invitations/{created['id']}/").status_code == 403


def test_an_owner_signed_in_uses_the_api_too(signed_in_client: Client, member: User) -> None:
    client = APIClient()
    client.force_login(member)
    answer = client.post("/api/v1/invitations/", {"invitee": "nobody"}, format="json")
    assert answer.status_code == 201 and answer.json()["invited_by"] == member.username


def test_a_member_leaves_the_organization(
    plain_member_client: Client, organization: Organization, plain_member: User
) -> None:
    response = plain_member_client.post("/settings/members/leave/", follow=True)
    assert f"You left {organization.name}" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=plain_member).exists()


def test_leaving_moves_the_user_to_another_of_their_organizations(
    plain_member_client: Client, organization: Organization, plain_member: User
) -> None:
    other = MembershipFactory(user=plain_member, organization=OrganizationFactory(name="Other Co")).organization
    AppFactory(organization=other, name="Other game")
    plain_member_client.post("/settings/members/leave/")
    assert "Other game" in page_text(plain_member_client, "/apps/")


def test_the_last_owner_cannot_leave(signed_in_client: Client, organization: Organization, member: User) -> None:
    response = signed_in_client.post("/settings/members/leave/", follow=True)
    assert (f"You are the last owner of {organization.name}, so you cannot leave it. "
            "Make someone else an owner first.") in unescape(response.content.decode())
    assert Membership.objects.get(organization=organization, user=member).role == Membership.Role.OWNER


def test_an_owner_leaves_once_there_is_another_owner(
    signed_in_client: Client, organization: Organization, member: User, plain_member: User
) -> None:
    Membership.objects.filter(user=plain_member).update(role=Membership.Role.OWNER)
    signed_in_client.post("/settings/members/leave/")
    assert not Membership.objects.filter(organization=organization, user=member).exists()


def test_every_step_is_in_the_members_pages_recent_changes(
    signed_in_client: Client, organization: Organization, member: User, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    invite(signed_in_client, "bob@example.com")
    first, second = Invitation.objects.order_by("pk")
    ana_client.post(f"/invitations/{first.pk}/accept/")
    signed_in_client.post(f"/settings/members/invitations/{second.pk}/withdraw/")
    changes = membership_changes(organization)[0:10]
    summary = [(c.object_type, c.action, c.actor.name, {f.field: (f.before, f.after) for f in c.changes})
               for c in changes]
    assert summary[:3] == [
        ("invitation", "changed", member.username, {"status": ("pending", "withdrawn")}),
        ("invitation", "changed", "ana", {"status": ("pending", "accepted")}),
        ("membership", "created", "ana", {"user": (None, "ana"), "role": (None, "member")}),
    ]
    assert ("invitation", "created", member.username, {"invitee": (None, "ana"), "status": (None, "pending")}) \
        in summary
    html = page_text(signed_in_client, "/settings/members/")
    assert "ana to " + organization.name in html and "withdrawn" in html


def test_leaving_and_declining_are_in_the_trail(
    signed_in_client: Client, organization: Organization, member: User, ana: User, ana_client: Client
) -> None:
    invite(signed_in_client, "ana")
    ana_client.post(f"/invitations/{Invitation.objects.get().pk}/accept/")
    # She switches to the organization she joined, then leaves it.
    ana_client.post("/accounts/organization/", {"organization": organization.pk})
    ana_client.post("/settings/members/leave/")
    invite(signed_in_client, "ana")
    ana_client.post(f"/invitations/{Invitation.objects.latest('pk').pk}/decline/")
    summary = [(c.object_type, c.action, c.actor.name) for c in membership_changes(organization)[0:3]]
    assert summary == [("invitation", "changed", "ana"), ("invitation", "created", member.username),
                       ("membership", "deleted", "ana")]


def test_the_trail_never_names_the_matched_user(signed_in_client: Client, organization: Organization,
                                                ana: User) -> None:
    invite(signed_in_client, "ana@zeta.example")
    html = page_text(signed_in_client, "/settings/members/")
    assert "ana@zeta.example" in html and ">ana<" not in html and "ana in" not in html


def test_support_staff_see_who_was_invited_and_each_step_in_the_admin(
    staff_client: Client, signed_in_client: Client, ana: User
) -> None:
    invite(signed_in_client, "ana")
    invitation = Invitation.objects.get()
    listing = staff_client.get("/admin/accounts/invitation/").content.decode()
    assert "ana" in listing
    history = staff_client.get(f"/admin/accounts/invitation/{invitation.pk}/history/").content.decode()
    assert "created" in history and "pending" in history
