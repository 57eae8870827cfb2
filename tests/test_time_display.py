"""Times on pages: one tag writes every timestamp in UTC as <time> (static/js/time.js shows it in local
time), time inputs read presets such as "24h", and the admin writes times the same way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from django.template import Context, Template
from django.test import Client, RequestFactory

from delivery.filters import DeliveryFilterSet
from delivery.forms import RecoverForm
from delivery.models import Delivery
from mappings.models import App
from tests.factories import AttemptFactory, DeliveryFactory
from tests.page_helpers import field_block, page_text

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
WHEN = datetime(2026, 12, 1, 22, 35, 3, tzinfo=UTC)


def render(source: str, **context: object) -> str:
    return Template("{% load dashboard_tags %}" + source).render(Context(context))


def test_the_time_tag_writes_utc_with_a_tooltip_and_readable_text() -> None:
    assert render("{% utc_time when %}", when=WHEN) == (
        '<time datetime="2026-12-01T22:35:03Z" title="2026-12-01 22:35:03 UTC">2026-12-01 22:35 UTC</time>'
    )


def test_the_time_tag_turns_any_zone_into_utc_and_can_show_seconds_and_tick() -> None:
    berlin = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert render("{% utc_time when seconds=True relative=True %}", when=berlin) == (
        '<time datetime="2026-12-01T22:35:03Z" title="2026-12-01 22:35:03 UTC" data-seconds data-relative>'
        "2026-12-01 22:35:03 UTC</time>"
    )


def test_no_time_is_a_dash_or_the_word_given() -> None:
    assert render("{% utc_time none %}", none=None) == '<span class="subtle">–</span>'
    assert render('{% utc_time none empty="never" %}', none=None) == '<span class="subtle">never</span>'


def test_the_dashboard_writes_every_timestamp_through_the_tag(signed_in_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, status=Delivery.Status.RETRYING, created_at=WHEN,
                               next_attempt_at=WHEN + timedelta(seconds=8), last_attempt_at=WHEN)
    AttemptFactory(delivery=delivery, number=1, started_at=WHEN)
    detail = page_text(signed_in_client, f"/deliveries/{delivery.pk}/")
    listed = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")

    next_attempt = ('<time datetime="2026-12-01T22:35:11Z" title="2026-12-01 22:35:11 UTC" '
                    "data-seconds data-relative data-due>")
    assert next_attempt in detail
    assert next_attempt in listed
    # No time written any other way: every "UTC" on these pages belongs to a <time>.
    for html in (detail, listed):
        text = re.sub(r"<time [^>]*>[^<]*</time>", "", html)
        assert not re.search(r"\d\d:\d\d(:\d\d)? UTC", text)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("typed", "meaning"), [
    ("1h", NOW - timedelta(hours=1)),
    ("24h", NOW - timedelta(hours=24)),
    ("7d", NOW - timedelta(days=7)),
    ("90m", NOW - timedelta(minutes=90)),
    ("2025-03-01T00:00Z", datetime(2025, 3, 1, tzinfo=UTC)),
])
def test_a_time_field_reads_a_preset_as_that_long_ago_and_iso_as_before(typed: str, meaning: datetime) -> None:
    form = RecoverForm({"since": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["since"] == meaning


@pytest.mark.parametrize("typed", ["2025", "24 hours", "999999d", "-1h", "0h", "000m"])
def test_a_time_field_refuses_a_bare_number_or_a_span_out_of_range(typed: str) -> None:
    filters = DeliveryFilterSet({"since": typed})
    assert "since" in filters.errors


@time_machine.travel(NOW, tick=False)
def test_the_filters_since_preset_links_filter_without_javascript(signed_in_client: Client, app: App) -> None:
    recent = DeliveryFactory(event__app=app, created_at=NOW - timedelta(minutes=30))
    DeliveryFactory(event__app=app, created_at=NOW - timedelta(hours=3))
    url = f"/apps/{app.pk}/deliveries/"

    html = page_text(signed_in_client, url + "?status=&page=2")
    presets = field_block(html, "since")
    # Each link keeps the other filters and starts again at the first page.
    assert re.findall(r'href="([^"]+)" data-preset="([^"]+)"', presets) == [
        ("?status=&amp;since=1h", "1h"), ("?status=&amp;since=24h", "24h"), ("?status=&amp;since=7d", "7d")
    ]
    assert 'data-time-presets="id_since"' in presets

    filtered = page_text(signed_in_client, url + "?since=1h")
    assert re.findall(r'<td data-label="Created"><a href="/deliveries/(\d+)/"', filtered) == [str(recent.pk)]
    assert 'name="since" value="1h"' in filtered


@time_machine.travel(NOW, tick=False)
def test_the_recover_preset_links_fill_the_form_without_javascript(signed_in_client: Client, app: App) -> None:
    html = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/")
    presets = field_block(html, "recover-since")
    assert 'href="?recover_since=24h#recover" data-preset="24h"' in presets

    filled = page_text(signed_in_client, f"/apps/{app.pk}/deliveries/?recover_since=7d")
    assert 'name="since" id="recover-since" value="7d"' in filled
    assert "since-errors" not in filled


def test_the_preset_query_tag_replaces_the_value_and_drops_the_page() -> None:
    request = RequestFactory().get("/", {"since": "2025-01-01", "status": "failed", "page": "3"})
    assert render('{% preset_query "since" "24h" %}', request=request) == "?since=24h&amp;status=failed"


def test_the_admin_writes_times_like_the_dashboard(staff_client: Client, app: App) -> None:
    delivery = DeliveryFactory(event__app=app, created_at=WHEN)
    html = staff_client.get("/admin/delivery/delivery/").content.decode()
    assert "2026-12-01 22:35:03 UTC" in html
    detail = staff_client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").content.decode()
    assert "2026-12-01 22:35:03 UTC" in detail
