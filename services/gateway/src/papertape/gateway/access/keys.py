"""API keys: issued and revoked as events in the log, checked by their hash in constant time.

A key reads ``pt_<key id>_<secret>``: the key id (16 hex digits) is public and finds the
record; the secret (32 random bytes, URL-safe) is shown once, when the key is issued. The log
keeps only the SHA-256 of the whole key, so neither a copy of the log nor of the gateway's memory
lets anybody in, and a check compares digests with ``hmac.compare_digest``.

Every key's life is one stream of the event log (``apikeys``): an append names the version the
store last read, so two replicas issuing at once never lose an event; each replica rebuilds the
keys from the stream at start, re-reads it every ``keys_refresh_s`` and on a message of
``gateway.apikey.*`` (another replica's issue or revocation), and once (at most each second)
when an unknown key id is presented.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from papertape.common.clock import Clock, SystemClock
from papertape.common.eventlog import ConcurrencyError, EventLog, decode_envelope, new_event
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec
from papertape.contract.events.apikeys import (
    API_KEYS_STREAM,
    ApiKeyEvent,
    ApiKeyIssued,
    ApiKeyRevoked,
    ApiScope,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId

PREFIX = "pt_"
_events: Codec[ApiKeyEvent] = Codec(ApiKeyEvent)
_RANK = {ApiScope.READ: 0, ApiScope.TRADE: 1, ApiScope.ADMIN: 2}
_MISS_REFRESH_S = 1.0

Published = Callable[[Envelope[ApiKeyEvent]], Awaitable[None]]


def digest(key: str) -> str:
    """The SHA-256 of a whole key, in hex: what the log keeps."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The public id of a key of the gateway's shape, or None."""
    if not key.startswith(PREFIX):
        return None
    key_id, _, secret = key.removeprefix(PREFIX).partition("_")
    return key_id if len(key_id) == 16 and secret else None


@dataclass(frozen=True)
class ApiKey:
    """A key as the store knows it (never the secret)."""

    key_id: str
    key_hash: str
    account_id: AccountId | None
    scopes: frozenset[ApiScope]
    label: str
    revoked: bool = False

    def allows(self, scope: ApiScope) -> bool:
        """Whether one of the key's scopes includes ``scope`` (admin > trade > read)."""
        return any(_RANK[s] >= _RANK[scope] for s in self.scopes)

    @property
    def operator(self) -> bool:
        """An admin key for no one account: it manages every account and key."""
        return self.account_id is None and ApiScope.ADMIN in self.scopes

    def may_reach(self, account_id: str) -> bool:
        """Whether the key may act on ``account_id`` at all."""
        return self.operator or self.account_id == account_id


class KeyStore:
    """Every key, rebuilt from the log; issues and revokes by appending to it."""

    def __init__(
        self,
        log: EventLog,
        *,
        clock: Clock | None = None,
        published: Published | None = None,
    ) -> None:
        self._log = log
        self._clock = clock or SystemClock()
        self._ids = Uuid7Generator()
        self._published = published
        self._keys: dict[str, ApiKey] = {}
        self._version = 0
        self._last_miss_refresh = 0.0
        # One reader or writer of the stream at a time: a refresh that read an append still
        # in flight must not move the version the append is about to set.
        self._lock = asyncio.Lock()

    @property
    def version(self) -> int:
        return self._version

    def keys(self, account_id: str | None = None) -> list[ApiKey]:
        """The keys (of one account), revoked ones included, by id."""
        found = (k for k in self._keys.values() if account_id is None or k.account_id == account_id)
        return sorted(found, key=lambda k: k.key_id)

    def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def refresh(self) -> int:
        """Read the events appended since the last read; the stream's version after."""
        async with self._lock:
            return await self._read_new()

    async def _read_new(self) -> int:
        async for batch in self._log.read_stream(API_KEYS_STREAM, from_version=self._version + 1):
            for recorded in batch:
                self._apply(decode_envelope(recorded, _events).data)
                self._version = recorded.stream_version
        return self._version

    async def authenticate(self, key: str) -> ApiKey | None:
        """The live key ``key`` is, or None (unknown, malformed or revoked)."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        found = self._keys.get(key_id)
        now = time.monotonic()
        if found is None and now - self._last_miss_refresh >= _MISS_REFRESH_S:
            self._last_miss_refresh = now  # another replica may have issued it just now
            await self.refresh()
            found = self._keys.get(key_id)
        if found is None or found.revoked:
            return None
        return found if hmac.compare_digest(found.key_hash, digest(key)) else None

    async def issue(
        self,
        account_id: AccountId | None,
        scopes: Sequence[ApiScope],
        *,
        label: str = "",
        actor: str = "gateway",
    ) -> tuple[str, ApiKey]:
        """A new key (the secret, shown this once) and its record."""
        key_id = secrets.token_hex(8)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        event = ApiKeyIssued(
            key_id=key_id,
            key_hash=digest(key),
            account_id=account_id,
            scopes=tuple(sorted(set(scopes), key=_RANK.__getitem__)),
            label=label,
            issued_by=actor,
            ts=self._clock.now(),
        )
        await self._append(event, actor)
        return key, self._keys[key_id]

    async def revoke(self, key_id: str, *, reason: str = "", actor: str = "gateway") -> ApiKey:
        """Revoke a key (revoking it again records nothing new)."""
        found = self._keys.get(key_id)
        if found is None:
            raise KeyError(key_id)
        if not found.revoked:
            event = ApiKeyRevoked(
                key_id=key_id, reason=reason, revoked_by=actor, ts=self._clock.now()
            )
            await self._append(event, actor)
        return self._keys[key_id]

    async def _append(self, event: ApiKeyEvent, actor: str) -> None:
        async with self._lock:
            await self._append_locked(event, actor)

    async def _append_locked(self, event: ApiKeyEvent, actor: str) -> None:
        for _attempt in range(5):
            envelope: Envelope[ApiKeyEvent] = Envelope(
                event_id=EventId(self._ids.new()),
                stream_id=StreamId(API_KEYS_STREAM),
                stream_version=self._version + 1,
                occurred_at=self._clock.now(),
                correlation_id=CorrelationId(self._ids.new()),
                actor=Actor(actor[:200] or "gateway"),
                data=event,
            )
            try:
                await self._log.append(API_KEYS_STREAM, self._version, [new_event(envelope)])
            except ConcurrencyError:
                await self._read_new()  # another replica appended: read it, then try again
                continue
            self._apply(event)
            self._version = envelope.stream_version
            if self._published is not None:
                await self._published(envelope)
            return
        raise ConcurrencyError(API_KEYS_STREAM, self._version, self._version)

    def _apply(self, event: ApiKeyEvent) -> None:
        if isinstance(event, ApiKeyIssued):
            self._keys[event.key_id] = ApiKey(
                key_id=event.key_id,
                key_hash=event.key_hash,
                account_id=event.account_id,
                scopes=frozenset(event.scopes),
                label=event.label,
            )
        elif (found := self._keys.get(event.key_id)) is not None:
            self._keys[event.key_id] = ApiKey(
                key_id=found.key_id,
                key_hash=found.key_hash,
                account_id=found.account_id,
                scopes=found.scopes,
                label=found.label,
                revoked=True,
            )
