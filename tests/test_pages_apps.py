"""The apps list, the app form, and what the app's Mappings and Settings tabs show (tests/test_pages_app_tabs.py has
the tabs themselves, the overview and deleting an app)."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from mappings.models import App
from tests.factories import AppFactory, EventNameFactory, MappingFactory, saved_token
from tests.page_helpers import field_block, field_errors, page_text
from trackerui.accounts.models import Organization

NEW_APP = {
    "name": "Puzzle Quest (iOS)",
    "platform": "ios",
    "chartboost_app_id": "4f7aa26ef77659d869000003",
    "chartboost_app_token": "0123456789abcdef" * 4,
    "delivery_enabled": "on",
}


def test_the_apps_list_leads_a_new_customer_to_add_their_first_app(signed_in_client: Client) -> None:
    html = page_text(signed_in_client, "/apps/")
    assert "No apps yet" in html
    assert 'href="/apps/new/"' in html and "Add your first app" in html


def test_the_apps_list_shows_platform_s2s_delivery_and_active_mappings(signed_in_client: Client,
                                                                      organization: Organization) -> None:
    app = AppFactory(organization=organization, name="Puzzle Quest", platform="android", delivery_enabled=False)
    MappingFactory(app=app, event_field=1)
    MappingFactory(app=app, event_field=3)
    MappingFactory(app=app, event_field=4, active=False)
    html = page_text(signed_in_client, "/apps/")
    row = html[html.index("Puzzle Quest"):html.index("</tr>", html.index("Puzzle Quest"))]
    assert "Android" in row
    assert "not confirmed" in row
    assert "paused" in row
    assert '<td class="num" data-label="Active mappings">2</td>' in row


def test_the_apps_list_shows_only_the_organizations_own_apps(
    signed_in_client: Client, organization: Organization
) -> None:
    AppFactory(organization=organization, name="Ours")
    AppFactory(name="Someone else's")
    html = page_text(signed_in_client, "/apps/")
    assert "Ours" in html and "Someone else" not in html


def test_adding_an_app_saves_it_and_opens_its_page(signed_in_client: Client, organization: Organization) -> None:
    response = signed_in_client.post("/apps/new/", NEW_APP)
    app = App.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/"
    assert app.organization == organization
    assert saved_token(app) == NEW_APP["chartboost_app_token"]
    assert app.delivery_enabled is True and app.s2s_confirmed is False


def test_the_app_form_names_its_inputs_after_the_model_fields(signed_in_client: Client) -> None:
    html = page_text(signed_in_client, "/apps/new/")
    for name in ("name", "platform", "chartboost_app_id", "chartboost_app_token", "delivery_enabled",
                 "s2s_confirmed"):
        assert f'name="{name}"' in html
    assert 'type="password" name="chartboost_app_token"' in html


def test_a_refused_app_keeps_what_was_typed_with_one_error_per_problem_and_says_the_token_was_not_kept(
    signed_in_client: Client, organization: Organization
) -> None:
    response = signed_in_client.post("/apps/new/", {
        "name": "Puzzle Quest", "platform": "ios", "chartboost_app_id": "4f7aa26ef77659d8690000031",
        "chartboost_app_token": "ab" * 32, "delivery_enabled": "on",
    })
    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(html, "chartboost_app_id").strip() == (
        "A Chartboost app ID is 24 hexadecimal characters, e.g. 4f7aa26ef77659d869000003.")
    assert 'value="4f7aa26ef77659d8690000031"' in field_block(html, "chartboost_app_id")
    assert 'value="Puzzle Quest"' in field_block(html, "name")
    token = field_block(html, "chartboost_app_token")
    assert "ab" * 32 not in html
    assert "For your safety the token was not kept: enter it again." in token
    assert not organization.apps.exists()


def test_editing_with_a_blank_token_keeps_the_saved_token(signed_in_client: Client, app: App) -> None:
    saved = saved_token(app)
    response = signed_in_client.post(f"/apps/{app.pk}/edit/", {**NEW_APP, "name": "Renamed",
                                                               "chartboost_app_token": ""})
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/settings/"
    app.refresh_from_db()
    assert (app.name, saved_token(app)) == ("Renamed", saved)


def test_editing_with_a_new_token_replaces_it(signed_in_client: Client, app: App) -> None:
    signed_in_client.post(f"/apps/{app.pk}/edit/", {**NEW_APP, "chartboost_app_token": "f" * 64})
    app.refresh_from_db()
    assert saved_token(app) == "f" * 64


def test_the_edit_page_shows_the_token_hint_and_a_replace_action(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/edit/")
    assert app.chartboost_app_token_hint in html
    assert "Replace token" in html
    assert "Leave blank to keep it" in html


def test_the_settings_tab_shows_credentials_with_the_token_hint_only(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/settings/")
    assert app.chartboost_app_id in html
    assert app.chartboost_app_token_hint in html
    assert app.chartboost_app_token not in html
    assert "iOS" in html


def test_until_s2s_is_confirmed_the_settings_tab_says_why_events_may_not_show(signed_in_client: Client,
                                                                             app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/settings/")
    assert "Chartboost ignores server-to-server events for this app until its support switches the app " \
           "from SDK to S2S." in html
    assert f"switch app <code>{app.chartboost_app_id}</code> from SDK to S2S" in html
    assert f'action="/apps/{app.pk}/s2s-confirm/"' in html


def test_marking_s2s_confirmed_ticks_it_and_the_warning_goes(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/s2s-confirm/")
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/settings/"
    app.refresh_from_db()
    assert app.s2s_confirmed is True
    html = page_text(signed_in_client, f"/apps/{app.pk}/settings/")
    assert "Chartboost ignores server-to-server events" not in html
    assert "switched this app from SDK to S2S" in html
    assert "Chartboost ignores server-to-server events" not in page_text(signed_in_client, f"/apps/{app.pk}/")


def test_delivery_can_be_paused_and_resumed_from_the_settings_tab(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/delivery/", follow=True)
    assert response.redirect_chain == [(f"/apps/{app.pk}/settings/", 302)]
    app.refresh_from_db()
    assert app.delivery_enabled is False
    html = response.content.decode()
    # The message first, at the top of the page, then the state beside the button.
    assert html.index("Delivery is paused: new events wait") < html.index('id="delivery"')
    assert "Paused: new events wait as pending" in html
    signed_in_client.post(f"/apps/{app.pk}/delivery/")
    app.refresh_from_db()
    assert app.delivery_enabled is True


def test_state_changing_buttons_refuse_get(signed_in_client: Client, app: App) -> None:
    assert signed_in_client.get(f"/apps/{app.pk}/s2s-confirm/").status_code == 405
    assert signed_in_client.get(f"/apps/{app.pk}/delivery/").status_code == 405


def test_the_mappings_tab_lists_the_mappings_with_definition_label_and_sources(signed_in_client: Client,
                                                                             app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level",
                   sub_level_property="stage")
    MappingFactory(app=app, event_name="tutorial_complete", event_field=5, main_level_property="",
                   event_label="FTUE completed?", description="Tutorial Completed")
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/")
    table = html[html.index('id="mappings"'):html.index('id="unmapped-events"')]
    assert "Highest numerical level a user has reached" in table
    assert "Extra field for developers to send non-sequential data" in table
    assert 'level_complete <span class="tag">default</span>' in table
    assert 'FTUE completed? <span class="tag custom">custom</span>' in table
    assert "property <code>level</code>" in table and "property <code>stage</code>" in table
    assert "“Tutorial Completed”" in table
    assert "always 1 and 0" in table


def test_the_mappings_tab_offers_tracked_events_not_yet_mapped(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    EventNameFactory(app=app, name="level_complete", count=40)
    EventNameFactory(app=app, name="boss defeated", count=1423, last_seen_at=timezone.now(),
                     example_properties={"boss": "Lava King"})
    EventNameFactory(name="another_apps_event")
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/")
    panel = html[html.index('id="unmapped-events"'):]
    assert "boss defeated" in panel and "1423" in panel and "boss=Lava King" in panel
    assert f'href="/apps/{app.pk}/mappings/new/?event_name=boss%20defeated"' in panel
    assert "level_complete" not in panel
    assert "another_apps_event" not in panel


def test_an_event_name_mapped_only_by_a_paused_mapping_is_not_offered_again(signed_in_client: Client,
                                                                           app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1, active=False)
    EventNameFactory(app=app, name="level_complete")
    panel = page_text(signed_in_client, f"/apps/{app.pk}/mappings/").split('id="unmapped-events"')[1]
    assert "level_complete" not in panel
    assert "Every event name your game has sent is mapped." in panel


def test_with_no_event_ever_received_the_mappings_tab_says_so_and_points_to_the_ingest_docs(
    signed_in_client: Client, app: App
) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    panel = page_text(signed_in_client, f"/apps/{app.pk}/mappings/").split('id="unmapped-events"')[1]
    assert "No events received yet." in panel
    assert f"/api/v1/apps/{app.pk}/events/" in panel and 'href="/api/docs/"' in panel
    assert "every event name" not in panel.lower()


def test_pages_need_sign_in(client: Client, app: App) -> None:
    for path in ("/apps/", "/apps/new/", f"/apps/{app.pk}/", f"/apps/{app.pk}/edit/", f"/apps/{app.pk}/mappings/",
                 f"/apps/{app.pk}/settings/", f"/apps/{app.pk}/delete/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
