"""The app's Changes page (/apps/{id}/changes/) and the recent changes on the settings pages."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from mappings.models import App
from mappings.services import app_update, mapping_create
from mappings.views import CHANGES_PER_PAGE
from tests.factories import AppFactory, OrganizationFactory
from tests.test_csp import _assert_strict
from trackerui.accounts.models import Membership, Organization
from trackerui.accounts.services import api_key_create, api_key_revoke, membership_set_role

TIME = re.compile(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="[^"]+ UTC"')


def rows(html: str) -> list[str]:
    body = html[html.index('<table class="table compact changes">'):]
    return re.findall(r'<tr class="change action-[a-z]+">(.*?)</tr>', body[:body.index("</table>")], re.DOTALL)


def text(row: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_it_shows_each_change_with_time_actor_source_object_and_before_after(
    signed_in_client: Client, member: User, app: App
) -> None:
    old_name = app.name
    signed_in_client.post(f"/apps/{app.pk}/delivery/")
    app.refresh_from_db()
    app_update(app=app, name="Renamed")
    response = signed_in_client.get(reverse("app-changes", args=[app.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    newest, paused, created = rows(html)
    assert TIME.search(newest)
    assert text(newest).endswith(f"system System changed app Renamed (iOS) name : {old_name} → Renamed")
    assert f"{member.username} Dashboard changed app" in text(paused)
    assert "delivery_enabled : yes → no" in text(paused)
    assert "created app" in text(created)
    assert "chartboost_app_token_hint : none → " + app.chartboost_app_token_hint in text(created)


def test_it_names_the_mapping_a_change_is_about(signed_in_client: Client, app: App) -> None:
    mapping_create(app=app, event_name="tutorial_done", event_field=5, description="Tutorial")
    newest = rows(signed_in_client.get(f"/apps/{app.pk}/changes/").content.decode())[0]
    assert "created mapping tutorial_done → Event ID 5" in text(newest)
    assert "description : none → Tutorial" in text(newest)


def test_it_pages_newest_first(signed_in_client: Client, app: App) -> None:
    for number in range(CHANGES_PER_PAGE + 2):
        app_update(app=app, name=f"Name {number}")
    first = signed_in_client.get(f"/apps/{app.pk}/changes/").content.decode()
    assert len(rows(first)) == CHANGES_PER_PAGE
    assert f"→ Name {CHANGES_PER_PAGE + 1}" in text(rows(first)[0])
    assert 'rel="next"' in first and f"1–{CHANGES_PER_PAGE} of {CHANGES_PER_PAGE + 3}" in first
    last = signed_in_client.get(f"/apps/{app.pk}/changes/?page=2").content.decode()
    assert len(rows(last)) == 3 and 'rel="prev"' in last
    assert "created app" in text(rows(last)[-1])


def test_it_allows_only_our_own_scripts_and_styles(signed_in_client: Client, app: App) -> None:
    app_update(app=app, name="Renamed")
    _assert_strict(signed_in_client.get(f"/apps/{app.pk}/changes/"))


def test_the_app_page_links_to_it(signed_in_client: Client, app: App) -> None:
    assert f'href="/apps/{app.pk}/changes/"' in signed_in_client.get(f"/apps/{app.pk}/").content.decode()


def test_another_organizations_app_is_a_404(signed_in_client: Client) -> None:
    other = AppFactory(organization=OrganizationFactory())
    assert signed_in_client.get(f"/apps/{other.pk}/changes/").status_code == 404


def test_a_member_reads_it_too(plain_member_client: Client, app: App) -> None:
    assert plain_member_client.get(f"/apps/{app.pk}/changes/").status_code == 200


def test_the_api_keys_page_lists_recent_key_changes(signed_in_client: Client, organization: Organization) -> None:
    api_key, _ = api_key_create(organization=organization, name="game backend")
    api_key_revoke(api_key=api_key)
    html = signed_in_client.get("/settings/api-keys/").content.decode()
    assert "Recent changes" in html
    revoked, created = rows(html)
    assert f"changed API key {api_key.prefix}… (game backend) revoked_at" in text(revoked)
    assert "name : none → game backend" in text(created)


def test_the_members_page_lists_recent_role_changes(signed_in_client: Client, organization: Organization,
                                                    plain_member: User) -> None:
    membership_set_role(membership=Membership.objects.get(user=plain_member), role="owner")
    html = signed_in_client.get("/settings/members/").content.decode()
    assert "Recent changes" in html
    assert "role : member → owner" in text(rows(html)[0])


def test_the_settings_pages_show_only_the_organizations_own_changes(signed_in_client: Client) -> None:
    api_key_create(organization=OrganizationFactory(), name="someone else's")
    assert "someone else" not in signed_in_client.get("/settings/api-keys/").content.decode()
