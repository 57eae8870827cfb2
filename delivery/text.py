"""Shortening a reason or a message for a page without losing what it says to do.

Our reasons end with their fix ("...: check the app token", "... (it is missing)."), so a long
one is cut in its middle, never at its end.
"""

from __future__ import annotations

# The end of a delivery's reason when Chartboost refused its token (delivery/chartboost.py).
TOKEN_HINT = "check the app token"
# At least this much of a cut text's start is kept, so it still says what it is about.
HEAD_KEPT = 30


def text_cut_keeping_fix(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters; else its start, "…", and its end: the part after
    its last ": " (the fix) when it leaves room for a start of `HEAD_KEPT` characters, else its last third."""
    if len(text) <= limit:
        return text
    _, separator, fix = text.rpartition(": ")
    fits = separator and len(separator + fix) <= limit - HEAD_KEPT
    kept_end = separator + fix if fits else text[-(limit // 3):]
    return text[:limit - len(kept_end) - 1].rstrip() + "…" + kept_end
