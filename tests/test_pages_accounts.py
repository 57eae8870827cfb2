"""Signing in and out, passwords, the organization switcher and users without an organization."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD, AppFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.page_helpers import page_text
from trackerui.accounts.models import Organization


def test_home_sends_visitors_to_sign_in_and_members_to_their_apps(client: Client,
                                                                  signed_in_client: Client) -> None:
    assert client.get("/")["Location"] == "/accounts/login/"
    assert signed_in_client.get("/")["Location"] == "/apps/"


def test_signing_in_opens_the_apps_list(client: Client, member: User) -> None:
    assert 'name="username"' in page_text(client, "/accounts/login/")
    response = client.post("/accounts/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/apps/"


def test_a_wrong_password_is_refused_with_a_message(client: Client, member: User) -> None:
    response = client.post("/accounts/login/", {"username": member.username, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_signing_in_returns_to_the_page_asked_for(client: Client, member: User) -> None:
    response = client.post("/accounts/login/?next=/settings/api-keys/",
                           {"username": member.username, "password": PASSWORD, "next": "/settings/api-keys/"})
    assert response["Location"] == "/settings/api-keys/"


def test_signing_out_takes_a_post_and_ends_the_session(signed_in_client: Client) -> None:
    html = page_text(signed_in_client, "/apps/")
    assert re.search(r'<form method="post" action="/accounts/logout/">', html)
    response = signed_in_client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_client.get("/apps/").status_code == 302


def test_the_nav_links_apps_api_keys_and_api_docs(signed_in_client: Client) -> None:
    html = page_text(signed_in_client, "/apps/")
    for href in ('href="/apps/"', 'href="/settings/api-keys/"', 'href="/api/docs/"'):
        assert href in html


def test_a_password_can_be_changed(signed_in_client: Client, member: User) -> None:
    assert 'name="new_password1"' in page_text(signed_in_client, "/accounts/password_change/")
    new_password = "a new long passphrase 42"
    response = signed_in_client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password,
    })
    assert response["Location"] == "/accounts/password_change/done/"
    member.refresh_from_db()
    assert member.check_password("a new long passphrase 42")


def test_a_password_reset_mails_a_link_that_sets_a_new_password(client: Client, member: User) -> None:
    response = client.post("/accounts/password_reset/", {"email": member.email})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [member.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "brand new passphrase 7",
                                                  "new_password2": "brand new passphrase 7"})
    member.refresh_from_db()
    assert member.check_password("brand new passphrase 7")


def test_a_user_without_an_organization_sees_a_page_saying_so(client: Client, db: None) -> None:
    user = UserFactory()
    client.force_login(user)
    for path in ("/apps/", "/apps/new/", "/settings/api-keys/"):
        response = client.get(path)
        assert response.status_code == 403
        assert "You are not in any organization yet" in response.content.decode()


def test_a_user_in_one_organization_sees_its_name_and_no_switcher(
    signed_in_client: Client, organization: Organization
) -> None:
    html = page_text(signed_in_client, "/apps/")
    assert organization.name in html
    assert 'action="/accounts/organization/"' not in html


def test_a_user_in_several_organizations_switches_between_them(signed_in_client: Client, member: User) -> None:
    first = member.organizations.get()
    second = OrganizationFactory(name="Second Studio")
    MembershipFactory(organization=second, user=member)
    AppFactory(organization=first, name="First game")
    AppFactory(organization=second, name="Second game")
    html = page_text(signed_in_client, "/apps/")
    assert 'action="/accounts/organization/"' in html and "Second Studio" in html
    response = signed_in_client.post("/accounts/organization/", {"organization": second.pk})
    assert response["Location"] == "/apps/"
    assert signed_in_client.session["organization_id"] == second.pk
    html = page_text(signed_in_client, "/apps/")
    assert "Second game" in html and "First game" not in html


def test_switching_to_an_organization_one_is_not_in_is_refused(signed_in_client: Client, member: User) -> None:
    stranger = OrganizationFactory()
    AppFactory(organization=stranger, name="Not yours")
    signed_in_client.post("/accounts/organization/", {"organization": stranger.pk})
    assert signed_in_client.session.get("organization_id") != stranger.pk
    assert "Not yours" not in page_text(signed_in_client, "/apps/")
