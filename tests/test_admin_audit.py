"""The admin's History pages (trackerui/accounts/admin.py, AuditHistoryAdmin): the audit trail of apps (with
their mappings), mappings, API keys and memberships, for support staff."""

from __future__ import annotations

from django.test import Client

from mappings.models import App
from mappings.services import app_update, mapping_create, mapping_update
from tests.factories import MembershipFactory, UserFactory
from tests.test_csp import _assert_strict
from trackerui.accounts.models import Membership
from trackerui.accounts.services import api_key_create, api_key_revoke, membership_set_role
from trackerui.dashboard.services import app_archive


def test_an_apps_history_lists_its_own_and_its_mappings_changes(staff_client: Client, app: App) -> None:
    app_update(app=app, name="Renamed by the customer")
    mapping = mapping_create(app=app, event_name="boss_defeated", event_field=3, main_level_property="boss")
    mapping.delete()
    response = staff_client.get(f"/admin/mappings/app/{app.pk}/history/")
    _assert_strict(response)
    html = response.content.decode()
    assert "Renamed by the customer" in html
    assert html.count("boss_defeated") >= 2 and "deleted mapping" in html
    assert html.index("deleted mapping") < html.index("created mapping") < html.index("changed app")


def test_the_app_page_in_the_admin_links_to_its_history(staff_client: Client, app: App) -> None:
    html = staff_client.get(f"/admin/mappings/app/{app.pk}/change/").content.decode()
    assert html.count(f'href="/admin/mappings/app/{app.pk}/history/"') >= 2


def test_an_archived_apps_history_stays_readable(staff_client: Client, app: App) -> None:
    app_archive(app=app)
    html = staff_client.get(f"/admin/mappings/app/{app.pk}/history/").content.decode()
    assert "archived app" in html


def test_a_mappings_history_lists_its_changes(staff_client: Client, app: App) -> None:
    mapping = mapping_create(app=app, event_name="level_up", event_field=1)
    mapping_update(mapping=mapping, event_label="Highest level")
    response = staff_client.get(f"/admin/mappings/mapping/{mapping.pk}/history/")
    _assert_strict(response)
    assert "Highest level" in response.content.decode()


def test_key_and_membership_histories_list_their_changes(staff_client: Client) -> None:
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=Membership.Role.MEMBER)
    membership_set_role(membership=member, role=Membership.Role.OWNER)
    api_key, _ = api_key_create(organization=owner.organization, name="ci")
    api_key_revoke(api_key=api_key)
    key_page = staff_client.get(f"/admin/accounts/apikey/{api_key.pk}/history/")
    _assert_strict(key_page)
    assert "revoked_at" in key_page.content.decode() and "created api_key" in key_page.content.decode()
    member_page = staff_client.get(f"/admin/accounts/membership/{member.pk}/history/")
    _assert_strict(member_page)
    assert "changed membership" in member_page.content.decode()


def test_a_memberships_history_stays_readable_once_a_former_user_is_deleted(staff_client: Client) -> None:
    membership = MembershipFactory()
    former = membership.user
    former_id = former.pk
    membership.user = UserFactory()
    membership.save()
    former.delete()
    page = staff_client.get(f"/admin/accounts/membership/{membership.pk}/history/")
    _assert_strict(page)
    html = page.content.decode()
    assert f"deleted user #{former_id} in {membership.organization.name} (owner)" in html
    assert f"{membership.user.username} in {membership.organization.name} (owner)" in html


def test_customers_who_are_not_staff_cannot_read_it(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.get(f"/admin/mappings/app/{app.pk}/history/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
