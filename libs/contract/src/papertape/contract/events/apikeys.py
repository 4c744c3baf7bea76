"""API keys of the gateway: issued and revoked keys, recorded in the event log (stream ``apikeys``).

A key is shown once, when it is issued; the log keeps only its SHA-256 (``key_hash``), so a copy
of the log lets nobody in. The gateway relays each event on ``gateway.apikey.<event>`` so that
its other replicas learn of a revocation at once.
"""

from __future__ import annotations

import enum
from typing import Annotated

from papertape.contract.bounds import NAME, TOKEN, Text, UtcTime
from papertape.contract.events.base import Event
from papertape.contract.ids import AccountId

API_KEYS_STREAM = "apikeys"
"""The event-log stream that holds every key's life."""

KeyId = Annotated[str, NAME]
"""The public part of a key (16 hex digits when the gateway issues it)."""
KeyHash = Annotated[str, NAME]
"""The SHA-256 of the whole key, in hex."""


class ApiScope(enum.StrEnum):
    """What a key may do; each scope includes the ones before it (admin > trade > read)."""

    READ = "read"
    TRADE = "trade"
    ADMIN = "admin"


class ApiKeyIssued(Event, frozen=True, kw_only=True):
    """A key was issued; ``account_id`` None is an operator's key for every account."""

    key_id: KeyId
    key_hash: KeyHash
    account_id: Annotated[AccountId, TOKEN] | None = None
    scopes: tuple[ApiScope, ...]
    label: Text = ""
    issued_by: Text = ""
    ts: UtcTime


class ApiKeyRevoked(Event, frozen=True, kw_only=True):
    """A key was revoked: it is refused from now on."""

    key_id: KeyId
    reason: Text = ""
    revoked_by: Text = ""
    ts: UtcTime


ApiKeyEvent = ApiKeyIssued | ApiKeyRevoked
