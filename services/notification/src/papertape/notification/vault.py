"""Endpoint secrets sealed at rest: AES-256-GCM under the service's key, bound to the endpoint.

A webhook's signing key must be readable to sign with, so it cannot be hashed like a password;
it is sealed with ``PAPERTAPE_SECRETS_KEY`` (the endpoint's account and id are the associated
data, so a sealed value copied to another endpoint does not open). Without a key (``make run``,
tests) secrets are kept as they are, only in the service's own table, and the service says so
at start.
"""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "aes-gcm"
UNSEALED = "none"
_NONCE = 12


def new_secret() -> str:
    """A fresh webhook signing secret: 32 random bytes, urlsafe base64, ``whsec_`` in front."""
    return "whsec_" + secrets.token_urlsafe(32)


class Vault:
    """Seals and opens secrets with one key (or keeps them as they are without one)."""

    def __init__(self, key: str = "") -> None:
        self._aead = AESGCM(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) if key else None

    @property
    def sealing(self) -> bool:
        return self._aead is not None

    def seal(self, secret: str, *, account_id: str, endpoint_id: str) -> tuple[bytes, str]:
        """The stored form of ``secret`` and how it was sealed."""
        if self._aead is None:
            return secret.encode(), UNSEALED
        nonce = os.urandom(_NONCE)
        aad = f"{account_id}/{endpoint_id}".encode()
        return nonce + self._aead.encrypt(nonce, secret.encode(), aad), SEALED

    def open(self, sealed: bytes, sealed_with: str, *, account_id: str, endpoint_id: str) -> str:
        """The secret back (``ValueError`` when it was sealed with another key or moved)."""
        if sealed_with == UNSEALED:
            return sealed.decode()
        if self._aead is None:
            raise ValueError("the secret is sealed and no PAPERTAPE_SECRETS_KEY is set")
        aad = f"{account_id}/{endpoint_id}".encode()
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad).decode()
        except Exception as error:  # cryptography's InvalidTag says nothing more useful
            raise ValueError("the secret does not open with this key") from error
