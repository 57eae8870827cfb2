"""The mapping form (Event ID picker, label default, level inputs) and mapping actions."""

from __future__ import annotations

from django.test import Client

from mappings.event_fields import EVENT_FIELDS
from mappings.models import App, Mapping
from tests.factories import MappingFactory
from tests.page_helpers import field_block, field_errors, page_text
from tests.test_mapping_rules import FORM_DEFAULTS


def test_the_event_id_picker_explains_each_of_the_five_fields(signed_in_client: Client, app: App) -> None:
    picker = field_block(page_text(signed_in_client, f"/apps/{app.pk}/mappings/new/"), "event_field")
    for number, info in EVENT_FIELDS.items():
        assert f'type="radio" name="event_field" value="{number}"' in picker
        assert info.definition.replace("'", "&#x27;") in picker
        assert f"“{info.example_label}”" in picker
        assert f"“{info.example_description}”" in picker
        assert f"<code>{info.operators.replace('>', '&gt;').replace('<', '&lt;')}</code>" in picker
    assert picker.count(">sequential<") == 3 and picker.count(">not sequential<") == 2


def test_the_picker_marks_event_ids_already_mapped_and_preselects_none(signed_in_client: Client, app: App) -> None:
    MappingFactory(app=app, event_name="level_complete", event_field=1)
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/new/?event_name=shop_opened")
    assert "Already mapped to <code>level_complete</code>" in html
    assert 'value="2" id="id_event_field_1" required>' in html
    assert "checked" not in field_block(html, "event_field")


def test_a_mapping_posted_without_an_event_id_is_refused_with_one_clear_error(signed_in_client: Client,
                                                                              app: App) -> None:
    fields = {key: value for key, value in FORM_DEFAULTS.items() if key != "event_field"}
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/new/", {**fields, "event_name": "shop_opened"})
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "event_field").strip() == "Pick the Event ID this event is sent as."
    assert not app.mappings.exists()


def all_five_mapped(app: App) -> list[Mapping]:
    # Event IDs 2 and 5 take no level properties.
    return [MappingFactory(app=app, event_name=f"event_{number}", event_field=number,
                           main_level_property="level" if info.sequential else "")
            for number, info in EVENT_FIELDS.items()]


def test_with_all_five_event_ids_mapped_the_new_mapping_page_says_so_and_links_edit_and_delete(
    signed_in_client: Client, app: App
) -> None:
    mappings = all_five_mapped(app)
    mappings[2].active = False
    mappings[2].save()
    for response in (signed_in_client.get(f"/apps/{app.pk}/mappings/new/"),
                     signed_in_client.post(f"/apps/{app.pk}/mappings/new/", {**FORM_DEFAULTS, "event_field": 1})):
        html = response.content.decode()
        assert response.status_code == 200
        assert "All five Event IDs are in use" in html
        assert 'name="event_field"' not in html
        for mapping in mappings:
            assert f'href="/apps/{app.pk}/mappings/{mapping.pk}/edit/"' in html
            assert f'href="/apps/{app.pk}/mappings/{mapping.pk}/delete/"' in html
    assert app.mappings.count() == 5
    # One delete frees an Event ID, and the form is back, offering it.
    mappings[1].delete()
    picker = field_block(page_text(signed_in_client, f"/apps/{app.pk}/mappings/new/"), "event_field")
    assert "Already mapped to" not in picker.split('value="2"')[1].split("</label>")[0]


def test_with_all_five_event_ids_mapped_the_app_page_offers_no_new_mapping(signed_in_client: Client,
                                                                           app: App) -> None:
    all_five_mapped(app)
    assert f'href="/apps/{app.pk}/mappings/new/' not in page_text(signed_in_client, f"/apps/{app.pk}/")


def test_the_label_visibly_defaults_to_the_event_name(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete", event_label="")
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/{mapping.pk}/edit/")
    label = field_block(html, "event_label")
    assert 'placeholder="level_complete"' in label
    assert "Label sent: <strong>level_complete</strong> (default)" in label
    assert "Leave blank to send the event name." in label
    assert 'src="/static/js/mapping-form.js"' in html


def test_an_overridden_label_is_shown_as_custom(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="tutorial_complete", event_field=5, main_level_property="",
                             event_label="FTUE completed?")
    label = field_block(page_text(signed_in_client, f"/apps/{app.pk}/mappings/{mapping.pk}/edit/"), "event_label")
    assert "Label sent: <strong>FTUE completed?</strong> (custom)" in label


def test_the_form_names_its_inputs_after_the_model_fields(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/new/")
    for name in FORM_DEFAULTS:
        assert f'name="{name}"' in html
    # The page's script hides the level inputs for Event IDs 2 and 5; without it they stay visible.
    assert 'data-non-sequential="2,5"' in html
    assert "data-level-fields" in html and 'id="level-fields" data-level-fields hidden' not in html


def test_a_tracked_event_can_be_mapped_from_its_map_it_link(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/new/?event_name=boss%20defeated")
    assert 'name="event_name" value="boss defeated"' in html


def test_adding_a_mapping_saves_it_and_returns_to_the_mappings_tab(signed_in_client: Client, app: App) -> None:
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/new/", {
        **FORM_DEFAULTS, "main_level_property": "level", "sub_level_property": "stage",
    })
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/mappings/"
    mapping = app.mappings.get()
    assert (mapping.event_name, mapping.event_field, mapping.label) == ("level_complete", 1, "level_complete")
    assert (mapping.main_level_property, mapping.sub_level_property, mapping.active) == ("level", "stage", True)


def test_editing_a_mapping_overrides_its_label(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/edit/", {
        **FORM_DEFAULTS, "main_level_property": "level", "event_label": "Highest level completed",
    })
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert (mapping.label, mapping.label_is_overridden) == ("Highest level completed", True)


def test_an_invalid_edit_changes_nothing_and_keeps_the_page_title(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete", event_field=1, main_level_property="level")
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/edit/", {
        **FORM_DEFAULTS, "event_name": "renamed", "main_level_value": 0,
    })
    html = response.content.decode()
    assert "Chartboost rejects 0" in field_errors(html, "main_level_value")
    assert "Please correct the errors below." in html
    assert "Edit the mapping of <code>level_complete</code>" in html
    mapping.refresh_from_db()
    assert mapping.event_name == "level_complete"


def test_a_mapping_can_be_paused_and_activated(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app)
    signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/toggle/")
    mapping.refresh_from_db()
    assert mapping.active is False
    assert "paused" in page_text(signed_in_client, f"/apps/{app.pk}/mappings/")
    signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/toggle/")
    mapping.refresh_from_db()
    assert mapping.active is True


def test_deleting_a_mapping_asks_first_then_deletes_on_post(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete")
    html = page_text(signed_in_client, f"/apps/{app.pk}/mappings/{mapping.pk}/delete/")
    assert "Delete this mapping?" in html and "level_complete" in html
    assert Mapping.objects.filter(pk=mapping.pk).exists()
    response = signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/mappings/"
    assert not Mapping.objects.filter(pk=mapping.pk).exists()


def test_toggling_refuses_get(signed_in_client: Client, app: App) -> None:
    mapping = MappingFactory(app=app)
    assert signed_in_client.get(f"/apps/{app.pk}/mappings/{mapping.pk}/toggle/").status_code == 405


def test_a_deleted_mappings_edit_page_says_it_was_deleted_and_leads_back_to_the_mappings(
    signed_in_client: Client, app: App
) -> None:
    mapping = MappingFactory(app=app, event_name="level_complete", event_field=1)
    edit = f"/apps/{app.pk}/mappings/{mapping.pk}/edit/"
    signed_in_client.post(f"/apps/{app.pk}/mappings/{mapping.pk}/delete/")
    # The back button after the delete.
    response = signed_in_client.get(edit)
    html = response.content.decode()
    assert response.status_code == 404
    assert "This mapping was deleted" in html and "<code>level_complete</code>" in html
    assert f'href="/apps/{app.pk}/mappings/"' in html
    # A mapping that never was is the usual 404.
    never = signed_in_client.get(f"/apps/{app.pk}/mappings/99999/edit/")
    assert never.status_code == 404 and "This mapping was deleted" not in never.content.decode()
