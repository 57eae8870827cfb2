"""The Chartboost app token is never shown or logged after it is saved.

Only its hint (… and the last 9 characters) may appear. Every page is rendered,
customer and admin alike, while every log record is captured at DEBUG.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from mappings.models import App, Mapping
from tests.factories import EventNameFactory, MappingFactory, UserFactory
from tests.test_app_rules import GOOD as GOOD_APP
from trackerui.accounts.models import ApiKey, Membership
from trackerui.foundation import crypto

RAW_TOKEN = "5e8a0c37d1f94b62a7c3e9d05b18f4a26c9e3d71b04f8a25e6c1d93f07b4a8c2"
REPLACEMENT_TOKEN = "d4c3b2a1" * 8
THIRD_TOKEN = "0f1e2d3c" * 8


def stored_ciphertext(app: App) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT chartboost_app_token FROM mappings_app WHERE id = %s", [app.pk])
        return cursor.fetchone()[0]


def customer_pages(app: App) -> list[str]:
    mapping = app.mappings.get()
    return [
        "/apps/", f"/apps/{app.pk}/", f"/apps/{app.pk}/mappings/", f"/apps/{app.pk}/settings/",
        f"/apps/{app.pk}/deliveries/", f"/apps/{app.pk}/delete/", f"/apps/{app.pk}/edit/",
        f"/apps/{app.pk}/mappings/new/",
        f"/apps/{app.pk}/mappings/{mapping.pk}/edit/", f"/apps/{app.pk}/mappings/{mapping.pk}/delete/",
        "/settings/api-keys/",
    ]


def admin_pages(app: App) -> list[str]:
    mapping = app.mappings.get()
    return [
        "/admin/", "/admin/mappings/app/", f"/admin/mappings/app/{app.pk}/change/",
        f"/admin/mappings/app/{app.pk}/history/", f"/admin/mappings/app/{app.pk}/delete/",
        "/admin/mappings/mapping/", f"/admin/mappings/mapping/{mapping.pk}/change/",
        "/admin/accounts/organization/", f"/admin/accounts/organization/{app.organization_id}/change/",
    ]


@pytest.fixture
def staff_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_token_never_appears_in_pages_admin_or_logs_after_saving(
    signed_in_client: Client, staff_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = signed_in_client.post("/apps/new/", {**GOOD_APP, "chartboost_app_token": RAW_TOKEN})
    assert created.status_code == 302
    app = App.objects.get()
    MappingFactory(app=app)
    EventNameFactory(app=app)
    secrets = [RAW_TOKEN, stored_ciphertext(app)]
    assert secrets[1] != RAW_TOKEN

    # A form that fails validation must not echo a token typed into it either.
    refused = signed_in_client.post(f"/apps/{app.pk}/edit/", {**GOOD_APP, "chartboost_app_id": "nope",
                                                                "chartboost_app_token": REPLACEMENT_TOKEN})
    assert refused.status_code == 200 and REPLACEMENT_TOKEN not in refused.content.decode()
    # Replacing it through the admin leaves a change record, which must not hold it.
    replaced = staff_client.post(f"/admin/mappings/app/{app.pk}/change/", {
        **GOOD_APP, "organization": app.organization_id, "chartboost_app_token": REPLACEMENT_TOKEN,
        "delivery_enabled": "on", "mappings-TOTAL_FORMS": 1, "mappings-INITIAL_FORMS": 1,
        "mappings-0-id": app.mappings.get().pk, "mappings-0-app": app.pk,
    })
    assert replaced.status_code == 302
    secrets += [REPLACEMENT_TOKEN, stored_ciphertext(app)]

    shown = {}
    for client, paths in ((signed_in_client, customer_pages(app)), (staff_client, admin_pages(app))):
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            shown[path] = response.content.decode()

    for path, html in shown.items():
        for secret in secrets:
            assert secret not in html, f"{path} shows a token or its ciphertext"
            assert secret[:20] not in html, f"{path} shows the start of a token or its ciphertext"
    assert f"…{REPLACEMENT_TOKEN[-9:]}" in shown[f"/apps/{app.pk}/settings/"]
    assert f"…{REPLACEMENT_TOKEN[-9:]}" in shown["/admin/mappings/app/"]
    assert caplog.records, "logging was not captured"
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()
    for secret in secrets:
        assert secret not in caplog.text


def audit_rows() -> tuple[list[str], list[tuple]]:
    """Every column name and every row of the audit trail's tables, read raw."""
    columns, rows = [], []
    with connection.cursor() as cursor:
        for model in (App, Mapping, ApiKey, Membership):
            table = model.audit_trail.model._meta.db_table
            cursor.execute(f"SELECT * FROM {table}")
            columns += [column[0] for column in cursor.description]
            rows += cursor.fetchall()
    return columns, rows


def is_our_ciphertext(value: str) -> bool:
    try:
        crypto.decrypt(value)
    except Exception:  # Whatever decrypt raises, a value that is not our ciphertext does not decrypt.
        return False
    return True


def test_the_audit_trail_never_holds_the_token_not_even_encrypted(signed_in_client: Client, api: APIClient) -> None:
    created = signed_in_client.post("/apps/new/", {**GOOD_APP, "chartboost_app_token": RAW_TOKEN})
    assert created.status_code == 302
    app = App.objects.get()
    secrets = [RAW_TOKEN, stored_ciphertext(app)]
    assert api.patch(f"/api/v1/apps/{app.pk}/", {"chartboost_app_token": REPLACEMENT_TOKEN},
                     format="json").status_code == 200
    secrets.append(stored_ciphertext(app))
    replaced = signed_in_client.post(f"/apps/{app.pk}/edit/", {**GOOD_APP, "chartboost_app_token": THIRD_TOKEN})
    assert replaced.status_code == 302
    secrets += [REPLACEMENT_TOKEN, THIRD_TOKEN, stored_ciphertext(app)]
    answer = api.get(f"/api/v1/apps/{app.pk}/changes/").content.decode()
    assert api.delete(f"/api/v1/apps/{app.pk}/").status_code == 204

    columns, rows = audit_rows()
    assert "chartboost_app_token" not in columns
    stored = [str(value) for row in rows for value in row if value is not None]
    for secret in secrets:
        assert not [value for value in stored if secret[:20] in value], "the audit trail holds a token"
        assert secret[:20] not in answer
    assert not [value for value in stored if is_our_ciphertext(value)], "the audit trail holds something encrypted"
    hints = {f"…{token[-9:]}" for token in (RAW_TOKEN, REPLACEMENT_TOKEN, THIRD_TOKEN)}
    assert hints <= set(stored), "each token's hint is what the trail keeps"
