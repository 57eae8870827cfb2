"""Model fields that keep a secret encrypted in the database, and the hint shown in its place.

A saved secret is read back as a `SealedSecret`: the ciphertext, not decrypted. Only the
code that signs a request to Chartboost opens it (`SealedSecret.reveal`), so a token that
the current TOKEN_ENCRYPTION_KEY cannot decrypt (a wrong or rotated-away key) breaks
sending for its app alone: every page, API answer and admin page that loads the app still
works. A new secret is assigned as plain text (from a form, the API or the admin), checked
by the model's validators as such, and encrypted as it is saved. A sealed one is written
back as it was, so saving an app never needs its token decrypted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.fernet import InvalidToken
from django.db import models
from django.utils.deconstruct import deconstructible

from trackerui.foundation import crypto

TOKEN_HINT_LENGTH = 9
UNREADABLE_TOKEN_MESSAGE = (
    "The app token cannot be decrypted with TOKEN_ENCRYPTION_KEY (the key it was saved with is no longer "
    "configured). Re-enter the token on the app's edit page, or add the old key to TOKEN_ENCRYPTION_KEY "
    "after the current one."
)


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any key in TOKEN_ENCRYPTION_KEY."""


class SealedSecret:
    """A secret as stored: ciphertext that is decrypted only when `reveal` is called."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        # Never the plaintext (it is not known here) and not the ciphertext either: logs need neither.
        return "SealedSecret(…)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealedSecret) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)

    @property
    def fingerprint(self) -> str:
        """Names this ciphertext without revealing anything: it changes whenever the secret is replaced."""
        return hashlib.sha256(self.ciphertext.encode()).hexdigest()[:16]

    def reveal(self) -> str:
        try:
            return crypto.decrypt(self.ciphertext)
        except InvalidToken:
            raise SecretUnreadable(UNREADABLE_TOKEN_MESSAGE) from None


def secret_reveal(value: str | SealedSecret) -> str:
    """The plaintext of a secret: as assigned (not saved yet), or decrypted. Raises SecretUnreadable."""
    return value.reveal() if isinstance(value, SealedSecret) else value


def secret_fingerprint(value: str | SealedSecret) -> str:
    """The fingerprint of a saved secret; blank for one assigned but not saved yet."""
    return value.fingerprint if isinstance(value, SealedSecret) else ""


def token_hint(token: str) -> str:
    """What pages and the API show of a token: its last characters only."""
    # delivery.chartboost.redact_token does the same for stored requests; mappings may not import delivery.
    return f"…{token[-TOKEN_HINT_LENGTH:]}" if token else ""


@deconstructible
class UnlessSealed:
    """A validator that checks a newly assigned secret and passes a saved one (it was checked when assigned)."""

    def __init__(self, validator: Any) -> None:
        self.validator = validator

    def __call__(self, value: Any) -> None:
        if not isinstance(value, SealedSecret):
            self.validator(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnlessSealed) and other.validator == self.validator


class EncryptedTextField(models.TextField):
    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | SealedSecret | None:
        if value is None or value == "":
            return value
        return SealedSecret(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, SealedSecret):
            return value
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> str | None:
        if isinstance(value, SealedSecret):
            return value.ciphertext
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def value_to_string(self, obj: models.Model) -> str:
        # Serialised (dumpdata) as ciphertext, never as plaintext.
        value = self.value_from_object(obj)
        return self.get_prep_value(value) or ""


class SecretHintField(models.CharField):
    """The hint of the secret in `secret_field`, kept beside it because the secret itself is never
    decrypted to show it. Written as the row is saved, from a newly assigned secret; a sealed one
    keeps the hint it was saved with."""

    def __init__(self, *args: Any, secret_field: str = "", **kwargs: Any) -> None:
        self.secret_field = secret_field
        kwargs.setdefault("max_length", TOKEN_HINT_LENGTH + 1)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["secret_field"] = self.secret_field
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        secret = getattr(model_instance, self.secret_field)
        if not isinstance(secret, SealedSecret):
            setattr(model_instance, self.attname, token_hint(secret or ""))
        return getattr(model_instance, self.attname)
