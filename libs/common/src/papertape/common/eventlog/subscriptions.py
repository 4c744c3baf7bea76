"""Checkpointed followers of the log, woken by LISTEN/NOTIFY, with a fallback poll.

Two deliveries: ``TRANSACTIONAL`` runs the handler and moves the checkpoint in one
transaction (for effects in this database: projections, process managers), and
``AFTER_EFFECT`` moves it after the handler returns (for effects elsewhere, like the relay
to JetStream, which must be idempotent: a crash in between delivers the batch again).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from papertape.common.eventlog.port import RecordedEvent
from papertape.common.eventlog.postgres import (
    _BY_POSITION,
    NOTIFY_CHANNEL,
    load_checkpoint_on,
    save_checkpoint_on,
)

Handler = Callable[[list[RecordedEvent], asyncpg.Connection], Awaitable[None]]


class Delivery(enum.Enum):
    """When the checkpoint moves relative to the handler's effects."""

    TRANSACTIONAL = "transactional"
    AFTER_EFFECT = "after_effect"


@dataclass(frozen=True)
class Subscription:
    """A named follower of the log: its handler gets batches in position order."""

    name: str
    handler: Handler
    delivery: Delivery = Delivery.TRANSACTIONAL
    batch_size: int = 500
    poll_interval: float = 1.0


class SubscriptionRunner:
    """Runs one subscription from its checkpoint; one runner per name is active at a time."""

    def __init__(self, dsn: str, subscription: Subscription, *, user: str | None = None) -> None:
        """``user``: the role to log in as (the relay's own), instead of the DSN's."""
        self.dsn = dsn
        self.user = user
        self.subscription = subscription
        self._wake = asyncio.Event()
        self._stopped = False
        self._conn: asyncpg.Connection | None = None

    async def catch_up(self) -> int:
        """Handle every committed event past the checkpoint; returns how many were handled."""
        conn = self._conn or await asyncpg.connect(self.dsn, user=self.user)
        try:
            handled = 0
            while not self._stopped:
                count = await self._handle_batch(conn)
                if count == 0:
                    return handled
                handled += count
            return handled
        finally:
            if conn is not self._conn:
                await conn.close()

    async def _handle_batch(self, conn: asyncpg.Connection) -> int:
        sub = self.subscription
        if sub.delivery is Delivery.TRANSACTIONAL:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO checkpoints (name, position) VALUES ($1, 0)"
                    " ON CONFLICT (name) DO NOTHING",
                    sub.name,
                )
                position = await conn.fetchval(
                    "SELECT position FROM checkpoints WHERE name = $1 FOR UPDATE", sub.name
                )
                batch = await _fetch(conn, position, sub.batch_size)
                if batch:
                    await sub.handler(batch, conn)
                    await save_checkpoint_on(conn, sub.name, batch[-1].position)
                return len(batch)
        position = await load_checkpoint_on(conn, sub.name)
        batch = await _fetch(conn, position, sub.batch_size)
        if batch:
            await sub.handler(batch, conn)
            await save_checkpoint_on(conn, sub.name, batch[-1].position)
        return len(batch)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Follow the log until ``stop()``; a handler's exception ends the run (and is raised)."""
        conn = await asyncpg.connect(self.dsn, user=self.user)
        listener = await asyncpg.connect(self.dsn, user=self.user)
        try:
            # A session lock per name: a second runner waits here as a standby.
            await conn.execute(
                "SELECT pg_advisory_lock(hashtextextended('papertape.subscription:' || $1, 0))",
                self.subscription.name,
            )
            await listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
            self._conn = conn
            while not self._stopped:
                self._wake.clear()
                await self.catch_up()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.subscription.poll_interval)
        finally:
            self._conn = None
            await listener.close()
            await conn.close()

    def stop(self) -> None:
        """Ask the runner to finish its current batch and return."""
        self._stopped = True
        self._wake.set()


async def _fetch(conn: asyncpg.Connection, after: int, size: int) -> list[RecordedEvent]:
    rows = await conn.fetch(_BY_POSITION, after + 1, after + size)
    return [RecordedEvent(*row) for row in rows]
