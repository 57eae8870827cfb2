"""GET /api/v1/apps/{app_id}/changes/: the app's audit trail, newest first, paginated."""

from __future__ import annotations

from rest_framework.test import APIClient

from mappings.models import App
from mappings.services import app_update, mapping_create


def test_smoke(api: APIClient, app: App) -> None:
    mapping_create(app=app, event_name="level_up", event_field=1)
    app_update(app=app, name="Renamed")
    response = api.get(f"/api/v1/apps/{app.pk}/changes/")
    print(response.json())
    assert response.status_code == 200
