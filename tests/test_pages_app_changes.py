"""The app's Changes page (/apps/{id}/changes/): its audit trail, newest first."""
from __future__ import annotations

from django.test import Client

from mappings.models import App
from mappings.services import app_update


def test_smoke(signed_in_client: Client, staff_client: Client, app: App) -> None:
    app_update(app=app, name="Renamed")
    html = signed_in_client.get(f"/apps/{app.pk}/changes/").content.decode()
    print(html[html.find("<table"):html.find("</table>")][:3000])
    html = staff_client.get(f"/admin/mappings/app/{app.pk}/history/").content.decode()
    assert "Renamed" in html
    print(html[html.find("<table"):html.find("</table>")][:2000])
    assert staff_client.get(f"/admin/mappings/app/{app.pk}/change/").status_code == 200
    assert "Recent changes" in signed_in_client.get("/settings/members/").content.decode()
