"""`/api/v1/apps/{app_id}/write-keys/` (mappings/api_write_keys.py): owners create and revoke an app's write keys."""

from __future__ import annotations

import json

from django.test import Client
from rest_framework.test import APIClient

from mappings.models import App, WriteKey
from mappings.selectors import write_key_for_raw
from trackerui.accounts.models import ApiKey, hash_api_key


def create(client: APIClient | Client, app: App, name: str = "Segment production") -> object:
    return client.post(f"/api/v1/apps/{app.pk}/write-keys/", data=json.dumps({"name": name}),
                       content_type="application/json")


def test_an_owner_creates_a_write_key_shown_once_and_stored_hashed(api: APIClient, app: App) -> None:
    response = create(api, app)

    assert response.status_code == 201, response.content
    body = response.json()
    raw_key = body["key"]
    assert raw_key.startswith(body["prefix"] + "_") and body["prefix"].startswith("cbw_")
    assert (body["app_id"], body["name"], body["revoked_at"]) == (app.pk, "Segment production", None)
    stored = WriteKey.objects.get(pk=body["id"])
    assert stored.key_hash == hash_api_key(raw_key) and raw_key not in stored.key_hash
    listed = api.get(f"/api/v1/apps/{app.pk}/write-keys/").json()
    assert listed["count"] == 1 and "key" not in listed["results"][0]
    assert write_key_for_raw(raw_key) == stored


def test_an_owner_revokes_a_write_key_and_it_no_longer_works(api: APIClient, app: App) -> None:
    body = create(api, app).json()

    response = api.delete(f"/api/v1/apps/{app.pk}/write-keys/{body['id']}/")

    assert response.status_code == 204
    assert WriteKey.objects.get(pk=body["id"]).revoked_at is not None
    assert write_key_for_raw(body["key"]) is None


def test_a_member_may_list_but_not_create_or_revoke(member_api: APIClient, api: APIClient, app: App) -> None:
    body = create(api, app).json()

    assert member_api.get(f"/api/v1/apps/{app.pk}/write-keys/").status_code == 200
    refused = create(member_api, app)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only an owner of this organization can create write keys."}
    revoke = member_api.delete(f"/api/v1/apps/{app.pk}/write-keys/{body['id']}/")
    assert revoke.status_code == 403
    assert WriteKey.objects.filter(revoked_at__isnull=True).count() == 1


def test_another_organizations_app_and_its_keys_are_404(api: APIClient, other_app: App) -> None:
    assert api.get(f"/api/v1/apps/{other_app.pk}/write-keys/").status_code == 404
    assert create(api, other_app).status_code == 404
    theirs = WriteKey.objects.create(app=other_app, prefix="cbw_0000abcd", key_hash="0" * 64)
    assert api.delete(f"/api/v1/apps/{other_app.pk}/write-keys/{theirs.pk}/").status_code == 404


def test_an_ingest_api_key_cannot_create_write_keys(ingest_api: APIClient, app: App) -> None:
    assert create(ingest_api, app).status_code == 403


def test_creating_and_revoking_are_in_the_apps_audit_trail_without_the_hash(api: APIClient, app: App) -> None:
    body = create(api, app).json()
    api.delete(f"/api/v1/apps/{app.pk}/write-keys/{body['id']}/")

    history = WriteKey.audit_trail.filter(id=body["id"]).order_by("history_date")
    assert [row.history_type for row in history] == ["+", "~"]
    assert {row.actor_type for row in history} == {"api_key"}
    assert not hasattr(history[0], "key_hash")
    changes = api.get(f"/api/v1/apps/{app.pk}/changes/").json()["results"]
    assert [(c["object"], c["action"]) for c in changes[:2]] == [("write_key", "changed"), ("write_key", "created")]
    assert ApiKey.objects.count() == 1
