"""Reading settings from the environment: a bad value stops start-up with a message naming the variable."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from trackerui.foundation.durations import duration_seconds


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"The environment variable {name} is required.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


def env_float(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not value >= minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_duration(name: str, default: str) -> int:
    """A duration in seconds, written as 3600, 3600s, 90m, 72h or 3d."""
    raw = os.environ.get(name) or default
    try:
        return duration_seconds(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}={raw!r} {error}") from None


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate: a whole number per second, minute, hour or day, e.g. 1200/min."""
    raw = os.environ.get(name) or default
    count, _, period = raw.strip().partition("/")
    if not (count.isdigit() and int(count) > 0 and period[:1].lower() in {"s", "m", "h", "d"}):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: use e.g. 1200/min, 600/second, 50000/hour or 1000/day."
        )
    return raw.strip()


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or default
    value = raw.strip().upper()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} must be one of {', '.join(choices)}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]
