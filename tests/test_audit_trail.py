"""The audit trail (trackerui/accounts/audit.py): every change to an app, a mapping, an API key or a
membership, with when, who, from where, and each field before and after, whatever the way in."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from mappings.models import App, Mapping
from mappings.selectors import app_changes
from mappings.services import app_update, mapping_create, mapping_update
from tests.factories import AppFactory, MappingFactory, MembershipFactory
from tests.test_mapping_rules import FORM_DEFAULTS
from trackerui.accounts.audit import Actor, Change, FieldChange
from trackerui.accounts.models import ApiKey, Membership, Organization
from trackerui.accounts.selectors import api_key_changes, membership_changes
from trackerui.accounts.services import api_key_create, membership_set_role
from trackerui.dashboard.services import app_archive


def latest(app: App) -> Change:
    return app_changes(app)[0]


def fields(change: Change) -> dict[str, tuple[object, object]]:
    return {field.field: (field.before, field.after) for field in change.changes}


def dashboard_user(member: User) -> Actor:
    return Actor("user", member.username)


# From the dashboard.

def test_an_app_edit_on_the_dashboard_is_recorded_with_the_user_and_each_field(
    signed_in_client: Client, member: User, app: App
) -> None:
    before = app.name
    response = signed_in_client.post(f"/apps/{app.pk}/edit/", {
        "name": "Puzzle Quest Deluxe", "platform": app.platform, "chartboost_app_id": app.chartboost_app_id,
        "chartboost_app_token": "", "delivery_enabled": "on",
    })
    assert response.status_code == 302
    change = latest(app)
    assert (change.actor, change.source, change.action) == (dashboard_user(member), "dashboard", "changed")
    assert (change.object_type, change.object_id) == ("app", app.pk)
    assert change.changes == [FieldChange("name", before, "Puzzle Quest Deluxe")]


def test_a_mapping_edit_on_the_dashboard_is_recorded(signed_in_client: Client, member: User, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/edit/", {
        **FORM_DEFAULTS, "main_level_property": "level", "event_label": "Highest level completed",
    })
    assert response.status_code == 302
    change = latest(app)
    assert (change.actor, change.source, change.action) == (dashboard_user(member), "dashboard", "changed")
    assert (change.object_type, change.object_id, change.object_label) == ("mapping", mapping.pk, str(mapping))
    assert change.changes == [FieldChange("event_label", "", "Highest level completed")]


def test_pausing_a_mapping_on_the_dashboard_is_recorded(signed_in_client: Client, member: User, app: App) -> None:
    mapping = MappingFactory(app=app)
    signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/toggle/")
    change = latest(app)
    assert (change.actor, change.source, change.action, change.object_id) == (
        dashboard_user(member), "dashboard", "changed", mapping.pk)
    assert change.changes == [FieldChange("active", True, False)]


def test_pausing_delivery_on_the_dashboard_is_recorded(signed_in_client: Client, member: User, app: App) -> None:
    signed_in_client.post(f"/apps/{app.pk}/delivery/")
    change = latest(app)
    assert (change.actor, change.source, change.action) == (dashboard_user(member), "dashboard", "changed")
    assert change.changes == [FieldChange("delivery_enabled", True, False)]


def test_a_form_sent_back_as_it_was_records_no_change(signed_in_client: Client, app: App) -> None:
    count = app_changes(app).count()
    signed_in_client.post(f"/apps/{app.pk}/edit/", {
        "name": app.name, "platform": app.platform, "chartboost_app_id": app.chartboost_app_id,
        "chartboost_app_token": "", "delivery_enabled": "on",
    })
    assert app_changes(app).count() == count


# From the API.

def test_an_app_patch_in_the_api_is_recorded_with_the_api_key(api: APIClient, organization: Organization,
                                                              app: App) -> None:
    response = api.patch(f"/api/v1/apps/{app.pk}/", {"s2s_confirmed": True}, format="json")
    assert response.status_code == 200
    key = ApiKey.objects.get(organization=organization, name="tests")
    change = latest(app)
    assert (change.actor, change.source, change.action) == (Actor("api_key", str(key)), "api", "changed")
    assert key.prefix in change.actor.name
    assert change.changes == [FieldChange("s2s_confirmed", False, True)]


def test_a_mapping_created_and_deleted_in_the_api_is_recorded(api: APIClient, app: App) -> None:
    created = api.post(f"/api/v1/apps/{app.pk}/mappings/", {"event_name": "tutorial_done", "event_field": 5},
                       format="json")
    assert created.status_code == 201
    mapping_id = created.json()["id"]
    change = latest(app)
    assert (change.actor.type, change.source, change.action, change.object_type, change.object_id) == (
        "api_key", "api", "created", "mapping", mapping_id)
    assert fields(change)["event_name"] == (None, "tutorial_done")
    assert fields(change)["event_field"] == (None, 5)

    assert api.delete(f"/api/v1/apps/{app.pk}/mappings/{mapping_id}/").status_code == 204
    change = latest(app)
    assert (change.actor.type, change.source, change.action, change.object_id) == (
        "api_key", "api", "deleted", mapping_id)
    assert fields(change)["event_name"] == ("tutorial_done", None)


def test_a_signed_in_user_calling_the_api_is_recorded_as_that_user(member_api: APIClient, plain_member: User,
                                                                   app: App) -> None:
    member_api.patch(f"/api/v1/apps/{app.pk}/", {"name": "From the browser"}, format="json")
    change = latest(app)
    assert (change.actor, change.source) == (Actor("user", plain_member.username), "api")


def test_deleting_an_app_in_the_api_is_recorded_as_archived(api: APIClient, app: App) -> None:
    hint = app.chartboost_app_token_hint
    assert api.delete(f"/api/v1/apps/{app.pk}/").status_code == 204
    change = latest(app)
    assert (change.actor.type, change.source, change.action) == ("api_key", "api", "archived")
    assert fields(change)["chartboost_app_token_hint"] == (hint, "")
    before, after = fields(change)["archived_at"]
    assert before is None and after.endswith("Z")


# From the admin.

def test_an_app_changed_in_the_admin_is_recorded_with_the_staff_user(staff_client: Client, app: App) -> None:
    response = staff_client.post(f"/admin/mappings/app/{app.pk}/change/", {
        "organization": app.organization_id, "name": "Fixed by support", "platform": app.platform,
        "chartboost_app_id": app.chartboost_app_id, "chartboost_app_token": "", "delivery_enabled": "on",
        "mappings-TOTAL_FORMS": 0, "mappings-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302
    change = latest(app)
    staff = User.objects.get(is_staff=True)
    assert (change.actor, change.source, change.action) == (Actor("user", staff.username), "admin", "changed")
    assert change.changes == [FieldChange("name", app.name, "Fixed by support")]


def test_a_role_changed_in_the_admin_is_recorded(staff_client: Client, organization: Organization,
                                                 plain_member: User) -> None:
    membership = Membership.objects.get(user=plain_member)
    owner = Membership.objects.get(organization=organization, role=Membership.Role.OWNER)
    response = staff_client.post(f"/admin/accounts/organization/{organization.pk}/change/", {
        "name": organization.name, "slug": organization.slug,
        "created_at_0": organization.created_at.strftime("%Y-%m-%d"),
        "created_at_1": organization.created_at.strftime("%H:%M:%S"),
        "membership_set-TOTAL_FORMS": 2, "membership_set-INITIAL_FORMS": 2,
        "membership_set-0-id": owner.pk, "membership_set-0-organization": organization.pk,
        "membership_set-0-user": owner.user_id, "membership_set-0-role": "owner",
        "membership_set-1-id": membership.pk, "membership_set-1-organization": organization.pk,
        "membership_set-1-user": plain_member.pk, "membership_set-1-role": "owner",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    change = membership_changes(organization)[0]
    staff = User.objects.get(is_staff=True)
    assert (change.actor, change.source, change.action) == (Actor("user", staff.username), "admin", "changed")
    assert (change.object_type, change.object_id) == ("membership", membership.pk)
    assert change.changes == [FieldChange("role", "member", "owner")]


def test_archiving_from_the_admin_is_recorded_as_archived(staff_client: Client, app: App) -> None:
    response = staff_client.post(f"/admin/mappings/app/{app.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    change = latest(app)
    assert (change.source, change.action) == ("admin", "archived")


# From the system: no request.

def test_archiving_without_a_request_is_recorded_as_the_system(app: App) -> None:
    app_archive(app=app)
    change = latest(app)
    assert (change.actor, change.source, change.action) == (Actor("system", "system"), "system", "archived")


def test_a_management_command_is_recorded_as_the_system(member: User, organization: Organization) -> None:
    other = MembershipFactory(role=Membership.Role.MEMBER).user
    call_command("create_org", organization.slug, "--member", other.username)
    call_command("create_api_key", organization.slug)
    membership = membership_changes(organization)[0]
    assert (membership.actor.type, membership.source, membership.action) == ("system", "system", "created")
    assert fields(membership) == {"user": (None, other.username), "role": (None, "member")}
    key = api_key_changes(organization)[0]
    assert (key.actor.type, key.source, key.action) == ("system", "system", "created")


# API keys and roles.

def test_creating_and_revoking_a_key_on_the_dashboard_is_recorded(signed_in_client: Client, member: User,
                                                                 organization: Organization) -> None:
    signed_in_client.post("/settings/api-keys/", {"name": "game backend", "scope": "ingest"})
    key = ApiKey.objects.get(organization=organization)
    created = api_key_changes(organization)[0]
    assert (created.actor, created.source, created.action) == (dashboard_user(member), "dashboard", "created")
    assert fields(created) == {"name": (None, "game backend"), "prefix": (None, key.prefix),
                               "scope": (None, "ingest")}

    signed_in_client.post(f"/settings/api-keys/{key.pk}/revoke/")
    revoked = api_key_changes(organization)[0]
    assert (revoked.actor, revoked.action) == (dashboard_user(member), "changed")
    assert [field.field for field in revoked.changes] == ["revoked_at"]


def test_using_a_key_is_no_change(api: APIClient, organization: Organization) -> None:
    ApiKey.objects.update(last_used_at=None)
    count = api_key_changes(organization).count()
    assert api.get("/api/v1/apps/").status_code == 200
    assert ApiKey.objects.get(organization=organization).last_used_at is not None
    assert api_key_changes(organization).count() == count


def test_a_role_changed_on_the_members_page_is_recorded(signed_in_client: Client, member: User,
                                                        organization: Organization, plain_member: User) -> None:
    membership = Membership.objects.get(user=plain_member)
    signed_in_client.post(f"/settings/members/{membership.pk}/role/", {"role": "owner"})
    change = membership_changes(organization)[0]
    assert (change.actor, change.source, change.action) == (dashboard_user(member), "dashboard", "changed")
    assert change.changes == [FieldChange("role", "member", "owner")]


def test_an_invitation_sent_in_the_api_and_withdrawn_on_the_page_is_recorded(
    api: APIClient, signed_in_client: Client, member: User, organization: Organization
) -> None:
    invitation_id = api.post("/api/v1/invitations/", {"invitee": "bob@example.com"}, format="json").json()["id"]
    signed_in_client.post(f"/settings/members/invitations/{invitation_id}/withdraw/")
    withdrawn, sent = membership_changes(organization)[0:2]
    assert (sent.actor.type, sent.source, sent.action, sent.object_type) == ("api_key", "api", "created", "invitation")
    assert fields(sent) == {"invitee": (None, "bob@example.com"), "status": (None, "pending")}
    assert (withdrawn.actor, withdrawn.source, withdrawn.action) == (dashboard_user(member), "dashboard", "changed")
    assert withdrawn.changes == [FieldChange("status", "pending", "withdrawn")]
    assert withdrawn.object_label == f"bob@example.com to {organization.name}"


def test_another_organizations_keys_and_members_are_not_in_the_trail(organization: Organization) -> None:
    other = MembershipFactory().organization
    api_key_create(organization=other, name="theirs")
    assert membership_changes(organization).count() == 1
    assert api_key_changes(organization).count() == 0


# Reading.

def test_changes_are_newest_first_and_mappings_deleted_since_stay(app: App) -> None:
    mapping = mapping_create(app=app, event_name="level_up", event_field=1)
    mapping_update(mapping=mapping, event_label="Level")
    app_update(app=app, name="Renamed")
    mapping.delete()
    changes = list(app_changes(app)[0:10])
    assert [(change.object_type, change.action) for change in changes] == [
        ("mapping", "deleted"), ("app", "changed"), ("mapping", "changed"), ("mapping", "created"),
        ("app", "created"),
    ]
    assert [change.at for change in changes] == sorted((change.at for change in changes), reverse=True)
    assert not Mapping.objects.exists()


def test_another_apps_changes_are_not_in_the_trail(app: App) -> None:
    other = AppFactory(organization=app.organization)
    MappingFactory(app=other)
    app_update(app=other, name="Other")
    assert [change.object_type for change in app_changes(app)[0:10]] == ["app"]


def test_reading_a_page_takes_the_same_number_of_queries_however_many_changes(
    app: App, django_assert_max_num_queries: object
) -> None:
    for number in range(30):
        app_update(app=app, name=f"Name {number}", delivery_enabled=number % 2 == 0)
    with django_assert_max_num_queries(5):
        changes = app_changes(app)[0:25]
    assert len(changes) == 25
    assert changes[0].changes[0] == FieldChange("name", "Name 28", "Name 29")


def test_a_membership_whose_user_is_deleted_is_labelled_from_its_history(
    organization: Organization, plain_member: User
) -> None:
    user_id = plain_member.pk
    plain_member.delete()
    removed, added = membership_changes(organization)[0:2]
    label = f"deleted user #{user_id} in {organization.name} (member)"
    assert (removed.action, removed.object_label) == ("deleted", label)
    assert (added.action, added.object_label) == ("created", label)
    assert fields(removed)["user"] == (f"deleted user #{user_id}", None)


def test_a_membership_is_labelled_as_its_str_while_its_user_and_organization_exist(
    organization: Organization, plain_member: User
) -> None:
    membership = Membership.objects.get(user=plain_member)
    membership_set_role(membership=membership, role="owner")
    assert membership_changes(organization)[0].object_label == str(membership) == (
        f"{plain_member.username} in {organization.name} (owner)")


def test_reading_membership_changes_takes_the_same_number_of_queries_however_many_users(
    organization: Organization, django_assert_max_num_queries: object
) -> None:
    for _ in range(12):
        MembershipFactory(organization=organization, role=Membership.Role.MEMBER)
    # The page's keys, its rows, the rows before them (two), the users, the organizations.
    with django_assert_max_num_queries(6):
        changes = membership_changes(organization)[0:13]
    assert len(changes) == 13


def test_times_are_utc(app: App) -> None:
    app_update(app=app, name="Later")
    assert latest(app).at.utcoffset() == timedelta(0)


def test_an_owner_who_steps_down_is_recorded(member: User, organization: Organization, plain_member: User) -> None:
    membership_set_role(membership=Membership.objects.get(user=plain_member), role="owner")
    membership_set_role(membership=Membership.objects.get(user=member), role="member")
    assert [fields(change)["role"] for change in membership_changes(organization)[0:2]] == [
        ("owner", "member"), ("member", "owner")]


def test_a_created_object_lists_the_fields_it_has_and_a_changed_one_what_changed(app: App) -> None:
    mapping = mapping_create(app=app, event_name="tutorial_done", event_field=5)
    mapping_update(mapping=mapping, event_label="FTUE done")
    mapping_update(mapping=mapping, event_label="")
    cleared, labelled, created = app_changes(app)[0:3]
    assert fields(created) == {"event_name": (None, "tutorial_done"), "event_field": (None, 5),
                               "main_level_value": (None, 1), "sub_level_value": (None, 0), "active": (None, True)}
    assert labelled.changes == [FieldChange("event_label", "", "FTUE done")]
    assert cleared.changes == [FieldChange("event_label", "FTUE done", "")]
