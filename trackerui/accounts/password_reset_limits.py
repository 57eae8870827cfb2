"""How many password-reset mails one client address and one e-mail address may ask for per hour.

Counted on the counter every limit shares (trackerui/foundation/rate_limits.py), in fixed one-hour windows.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from trackerui.foundation.rate_limits import Rate, rate_limit_hit

WINDOW_SECONDS = 3600


def password_reset_allowed(*, client_address: str, email: str) -> bool:
    """Count one request for a reset mail; False once the address or the e-mail is over its hourly limit."""
    # Hashed, so the counters hold no e-mail addresses and keys stay short and safe for every backend.
    email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    per_address = rate_limit_hit(f"password-reset:address:{client_address}",
                                 Rate(limit=settings.PASSWORD_RESET_LIMIT_PER_ADDRESS, window_seconds=WINDOW_SECONDS))
    per_email = rate_limit_hit(f"password-reset:email:{email_digest}",
                               Rate(limit=settings.PASSWORD_RESET_LIMIT_PER_EMAIL, window_seconds=WINDOW_SECONDS))
    return per_address.allowed and per_email.allowed
