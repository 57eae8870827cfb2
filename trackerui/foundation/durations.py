"""Durations as people write them in settings and on the command line: 90, 90s, 30m, 72h, 3d.

No Django here: the settings read it before Django is set up.
"""

from __future__ import annotations

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(raw: str, *, allow_zero: bool = False) -> int:
    """The duration in whole seconds. Raises ValueError with the end of a sentence that starts
    with what was given, e.g. `RETRY_MAX_AGE='soon' is not a duration: ...`."""
    text = raw.strip().lower()
    factor = _UNITS.get(text[-1:], None)
    number = text[:-1] if factor else text
    try:
        seconds = int(number) * (factor or 1)
    except ValueError:
        raise ValueError("is not a duration: use seconds or a number with s, m, h or d.") from None
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("must be zero or longer." if allow_zero else "must be longer than zero.")
    return seconds
