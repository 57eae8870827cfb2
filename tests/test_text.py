"""Shortening a reason or a message without losing what it says to do (delivery/text.py)."""

from __future__ import annotations

from delivery.history.rejections import rejection_example
from delivery.text import text_cut_keeping_fix

LONG_REASON = ("Chartboost answered status 401 “" + "Invalid signature for this request " * 8
               + "”: check the app token, and that it belongs to Chartboost app ID 5f2a9c41e8b7d3a6c0e19f63")


def test_a_short_text_is_kept_whole() -> None:
    assert text_cut_keeping_fix("Chartboost answered HTTP 500", 160) == "Chartboost answered HTTP 500"


def test_a_long_reason_is_cut_in_its_middle_and_keeps_its_fix() -> None:
    shown = text_cut_keeping_fix(LONG_REASON, 160)
    assert len(shown) <= 160
    assert shown.startswith("Chartboost answered status 401 “Invalid signature")
    assert shown.endswith("…: check the app token, and that it belongs to Chartboost app ID 5f2a9c41e8b7d3a6c0e19f63")


def test_a_long_text_without_a_short_fix_keeps_its_last_third() -> None:
    shown = text_cut_keeping_fix("x" * 300 + " the end", 90)
    assert len(shown) <= 90 and shown.endswith("x the end") and "…" in shown


def test_a_rejected_examples_message_keeps_its_end_however_long_the_names_it_quotes() -> None:
    message = (f"Event ID 1 ({'label' * 51}) reads main_level from property “{'p' * 255}”: "
               "a non-zero integer (it is missing).")
    kept = rejection_example({"properties": [message]}, {})["errors"]["properties"][0]
    assert kept.endswith(": a non-zero integer (it is missing).")
