"""Endpoint secrets as the service uses them: sealed in the store, opened once, kept in memory.

The dispatcher asks for a secret on every attempt; the store is read only the first time (and
after a restart). Setting or erasing a secret goes through here, so the memory never holds one
the store no longer has.
"""

from __future__ import annotations

from papertape.notification.store import DeliveryStore
from papertape.notification.vault import Vault


class Secrets:
    """Endpoint secrets, by (account, endpoint)."""

    def __init__(self, store: DeliveryStore, vault: Vault) -> None:
        self._store = store
        self._vault = vault
        self._opened: dict[tuple[str, str], str | None] = {}

    async def put(self, account_id: str, endpoint_id: str, secret: str) -> None:
        """Seal and store a secret (it replaces the endpoint's former one)."""
        sealed, how = self._vault.seal(secret, account_id=account_id, endpoint_id=endpoint_id)
        await self._store.put_secret(account_id, endpoint_id, sealed, how)
        self._opened[(account_id, endpoint_id)] = secret

    async def erase(self, account_id: str, endpoint_id: str) -> None:
        await self._store.erase_secret(account_id, endpoint_id)
        self._opened.pop((account_id, endpoint_id), None)

    async def get(self, account_id: str, endpoint_id: str) -> str | None:
        """The endpoint's secret (None when it has none, or it no longer exists)."""
        key = (account_id, endpoint_id)
        if key not in self._opened:
            stored = await self._store.secret(account_id, endpoint_id)
            self._opened[key] = (
                None
                if stored is None
                else self._vault.open(*stored, account_id=account_id, endpoint_id=endpoint_id)
            )
        return self._opened[key]
