"""A model field that keeps a secret encrypted in the database.

In Python the value is the plaintext, so model validation (and so forms, the API and
the admin) checks the real token; only ciphertext ever reaches the database.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from trackerui import crypto


class EncryptedTextField(models.TextField):
    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
