"""Encryption at rest for secrets such as Chartboost app tokens.

MultiFernet with keys from TOKEN_ENCRYPTION_KEY (newest first), so keys can be rotated.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS)).decrypt(ciphertext.encode()).decode()
