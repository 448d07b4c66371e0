"""Encryption at rest for secrets we must be able to read back (agency signing secrets)."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "decrypt", "encrypt"]


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> MultiFernet:
    # Derive a dedicated key so the app secret is never used directly as a cipher key.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"tmc-at-rest", info=b"agency-secrets"
    ).derive(secret_key.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def encrypt(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


@lru_cache(maxsize=4096)
def decrypt(secret_key: str, token: str) -> str:
    return _fernet(secret_key).decrypt(token.encode()).decode()
