"""Who owns which partition of the accounts: PostgreSQL session advisory locks.

Each replica holds one dedicated connection. On it, it takes a *member* lock (one of
``MEMBER_SLOTS``, so every replica can count the live ones in ``pg_locks``), then the
partitions' locks up to its fair share (``ceil(partitions / members)``), those it prefers first
(``k % members`` equal to its rank among the members), and gives back what is over its share
when another replica joins. A lock is a session lock: when a replica dies its connection
drops and PostgreSQL frees its locks at once, and the others take them at their next poll
(every ``interval_s``): that is the takeover. The log head (the relay and the anchor) is one
more lock, held by whichever replica takes it first.

A replica that loses its connection stops serving every partition at once (``on_lost``),
before it can know whether someone else took them. A replica that was cut off but has not
noticed yet may still be appending: the log's UNIQUE (stream, version) refuses the stale
writer's append at a version another owner already wrote, so it can only decide again against
the log's latest state (``AccountBook.execute``), never write beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable

import asyncpg

from papertape.contract.partitions import fnv1a_32

HEAD = 1_000_000
"""The lock id of the log head: the relay and the anchor run where it is held."""
MEMBER = 2_000_000
MEMBER_SLOTS = 64
Callback = Callable[[int], Awaitable[None]]
log = logging.getLogger("papertape.portfolio.ownership")

_HELD = """
SELECT objid::int8 AS id FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::int8::oid
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def lock_space(namespace: str, service: str = "portfolio") -> int:
    """The first key of every lock of ``service`` in ``namespace`` (31 bits: an oid too)."""
    return fnv1a_32(f"papertape:{namespace}:{service}".encode()) & 0x7FFFFFFF


class PartitionLeases:
    """Takes, keeps and gives back partitions; calls back when one is gained or lost."""

    def __init__(
        self,
        dsn: str,
        namespace: str,
        partitions: int,
        *,
        on_gained: Callback,
        on_lost: Callback,
        interval_s: float = 0.5,
    ) -> None:
        self._dsn = dsn
        self._space = lock_space(namespace)
        self._partitions = partitions
        self._on_gained, self._on_lost = on_gained, on_lost
        self._interval_s = interval_s
        self._conn: asyncpg.Connection | None = None
        self._dropped = asyncio.Event()
        self.member: int | None = None
        self.owned: set[int] = set()
        """The partitions this replica serves (``HEAD`` among them while it holds the head)."""
        self.unowned: set[int] = set()
        """The partitions no replica held at the last poll (a request for one is refused at
        once, rather than forwarded to no one)."""

    async def run(self) -> None:
        """Poll until cancelled; a lost connection loses everything, then connects again."""
        try:
            while True:
                try:
                    await self.poll()
                except Exception as error:  # the connection above all; whatever it was, start over
                    log.warning("ownership lost (%s): serving nothing until retaken", error)
                    await self._lose_everything()
                    await asyncio.sleep(self._interval_s)
                pause = self._interval_s * (0.8 + 0.4 * random.random())  # replicas out of step
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dropped.wait(), pause)
                if self._dropped.is_set():
                    await self._lose_everything()
        finally:
            await self.release()

    async def poll(self) -> None:
        """One round: join, count the members, take up to the fair share, give back extras."""
        conn = await self._connection()
        if self.member is None:
            self.member = await self._join(conn)
        held = {row["id"] for row in await conn.fetch(_HELD, self._space)}
        members = sorted(i for i in held if MEMBER <= i < MEMBER + MEMBER_SLOTS)
        rank = members.index(MEMBER + self.member) if MEMBER + self.member in members else 0
        share = math.ceil(self._partitions / max(1, len(members)))
        mine = sorted(k for k in self.owned if k != HEAD)
        preferred = [k for k in range(self._partitions) if k % max(1, len(members)) == rank]
        for k in sorted(mine, key=lambda k: k in preferred)[: max(0, len(mine) - share)]:
            await self._give_back(conn, k)  # another replica joined: its share is freed
        free = [k for k in range(self._partitions) if k not in held]
        for k in sorted(free, key=lambda k: k not in preferred):
            if len([k for k in self.owned if k != HEAD]) >= share:
                break
            await self._take(conn, k)
        if HEAD not in self.owned and HEAD not in held:
            await self._take(conn, HEAD)
        self.unowned = {k for k in free if k not in self.owned}

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._dropped.clear()
            self._conn = await asyncpg.connect(self._dsn, timeout=5)
            self._conn.add_termination_listener(lambda _conn: self._dropped.set())
        return self._conn

    async def _join(self, conn: asyncpg.Connection) -> int:
        for slot in range(MEMBER_SLOTS):
            if await self._try_lock(conn, MEMBER + slot):
                return slot
        raise RuntimeError(f"more than {MEMBER_SLOTS} replicas of portfolio")

    async def _try_lock(self, conn: asyncpg.Connection, key: int) -> bool:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self._space, key))

    async def _take(self, conn: asyncpg.Connection, k: int) -> None:
        if not await self._try_lock(conn, k):
            return  # another replica was quicker
        try:
            await self._on_gained(k)
        except Exception:
            log.exception("partition %s could not be served: given back", k)
            await self._on_lost(k)
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", self._space, k)
            return
        self.owned.add(k)

    async def _give_back(self, conn: asyncpg.Connection, k: int) -> None:
        """Stop serving first, then unlock: the next owner never overlaps this one."""
        self.owned.discard(k)
        await self._on_lost(k)
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", self._space, k)

    async def _lose_everything(self) -> None:
        """The connection is gone, and with it every lock: serve nothing until retaken."""
        lost, self.owned, self.member = sorted(self.owned), set(), None
        self.unowned = set()  # unknown now: forward, the owners (if any) answer
        for k in lost:
            with contextlib.suppress(Exception):
                await self._on_lost(k)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                conn.terminate()

    async def release(self) -> None:
        """Stop serving everything and close the connection (its locks go with it)."""
        await self._lose_everything()
