"""How many password-reset mails one client address and one e-mail address may ask for per hour.

Counted in Django's cache, which every web process shares (Redis or a database table,
trackerui/settings.py), in fixed one-hour windows.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 3600


def _count(key: str) -> int:
    """One more request under `key` in the current window; the window starts with the first."""
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:
        # The window ran out between add and incr: this request starts the next one.
        cache.add(key, 1, timeout=WINDOW_SECONDS)
        return 1


def password_reset_allowed(*, client_address: str, email: str) -> bool:
    """Count one request for a reset mail; False once the address or the e-mail is over its hourly limit."""
    # Hashed, so the cache holds no e-mail addresses and keys stay short and safe for every backend.
    email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    per_address = _count(f"password-reset:address:{client_address}")
    per_email = _count(f"password-reset:email:{email_digest}")
    return (per_address <= settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
            and per_email <= settings.PASSWORD_RESET_LIMIT_PER_EMAIL)
