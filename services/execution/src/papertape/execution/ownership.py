"""Which partitions this replica owns: NATS KV leases, renewed every second, spread by share.

Every ``RENEW_EVERY_S`` the replica renews its own leases (a failed or refused renewal stops
that partition at once: someone else may hold it now), writes its presence (key
``replicas.<name>``, which expires like a lease), and counts the replicas present. Its share
is ``ceil(partitions / replicas)``: it gives up what it holds beyond that (a replica that
joins is handed partitions within a tick or two) and takes free partitions, those its name
prefers first, up to it. A partition free for longer than ``GRACE_S`` is taken whatever the
share, so none stays unowned while the replicas count themselves. A replica that dies stops
renewing: its keys expire after ``LEASE_TTL_S`` and the others take its partitions. What the
last poll saw tells the query router (``queries``) which partitions no one can answer for.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue
from opentelemetry.trace import Tracer

from papertape.common.bus import leases
from papertape.common.bus.leases import Lease
from papertape.common.bus.routing import Router
from papertape.common.runtime import ServiceRuntime
from papertape.contract.partitions import partition_of
from papertape.execution.partitions import Partition
from papertape.execution.settings import ExecutionSettings

GRACE_S = 2.0
"""How long a partition may stay free before any replica takes it, share or not."""
PARTITION_KEY = "partitions.{index}"
REPLICA_KEY = "replicas.{name}"


def partition_key(index: int) -> str:
    return PARTITION_KEY.format(index=index)


class Ownership:
    """The partitions this replica holds, each with its lease and its running ``Partition``."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: ExecutionSettings,
        kv: KeyValue,
        tracer: Tracer,
        router: Router | None = None,
    ) -> None:
        self.runtime = runtime
        self.router = router
        self.settings = settings
        self.kv = kv
        self.tracer = tracer
        self.count = settings.partitions
        self.name = settings.replica_name()
        self.held: dict[int, tuple[Lease, Partition]] = {}
        self._starting: dict[int, asyncio.Task[None]] = {}
        self._free_since: dict[int, float] = {}
        self._seen_keys: set[str] = set()
        first = partition_of(self.name, self.count)
        self.preferred = [(first + step) % self.count for step in range(self.count)]
        """The order this replica takes free partitions in (each replica's own)."""

    async def tick(self) -> None:
        """Renew, count the replicas, give up what is beyond the share, take what is free.

        When any of it fails (NATS away or slow) every partition is given up at once: a lease
        that cannot be renewed must be taken to be lost before it expires.
        """
        try:
            await self._tick()
        except Exception:
            for index in list(self.held):
                await self._give_up(index, release=True)
            raise

    async def _tick(self) -> None:
        await self._renew()
        for index, starting in list(self._starting.items()):
            if starting.done() and not starting.cancelled() and starting.exception() is not None:
                error = starting.exception()
                self.runtime.log.error("partition %d: could not start: %s", index, error)
                await self._give_up(index, release=True)  # taken again, rebuilt anew
        await self.kv.put(REPLICA_KEY.format(name=self.name), b"present")
        keys = self._seen_keys = await self._keys()
        replicas = sum(1 for key in keys if key.startswith("replicas."))
        share = math.ceil(self.count / max(replicas, 1))
        for index in sorted(self.held, key=self.preferred.index, reverse=True):
            if len(self.held) <= share:
                break
            await self._give_up(index, release=True)
        now = time.monotonic()
        for index in self.preferred:
            if index in self.held or partition_key(index) in keys:
                self._free_since.pop(index, None)
                continue
            since = self._free_since.setdefault(index, now)
            if len(self.held) < share or now - since >= GRACE_S:
                await self._take(index)

    async def stop(self) -> None:
        """Stop every partition and hand its lease back, so another replica takes it at once."""
        for index in list(self.held):
            await self._give_up(index, release=True)
        with contextlib.suppress(Exception):
            await self.kv.delete(REPLICA_KEY.format(name=self.name))

    def serving(self, index: int) -> bool:
        """Whether this replica answers partition ``index``'s queries now (held, rebuilt)."""
        held = self.held.get(index)
        return held is not None and held[1].serving

    def unowned(self, index: int) -> bool:
        """Whether no replica answers partition ``index`` now: no lease at the last poll, or
        held here but not rebuilt yet."""
        if index in self.held:
            return not self.serving(index)
        return partition_key(index) not in self._seen_keys

    def partitions(self) -> list[Partition]:
        """The partitions held now, whether rebuilt yet or not."""
        return [partition for _, partition in self.held.values()]

    async def _renew(self) -> None:
        for index, (lease, _) in list(self.held.items()):
            try:
                kept = await leases.renew(self.kv, lease)
            except Exception as error:  # NATS did not answer: the lease may be gone already
                self.runtime.log.warning("partition %d: renewal failed: %s", index, error)
                kept = False
            if not kept:
                self.runtime.log.warning("partition %d: lease lost, matching stopped", index)
                await self._give_up(index, release=False)

    async def _keys(self) -> set[str]:
        try:
            return set(await self.kv.keys())
        except NoKeysError:
            return set()

    async def _take(self, index: int) -> None:
        lease = await leases.acquire(self.kv, partition_key(index), self.name)
        if lease is None:
            return
        self._free_since.pop(index, None)
        partition = Partition(
            self.runtime, self.settings, index, self.count, self.tracer, self.router
        )
        self.held[index] = (lease, partition)
        self.runtime.log.info("partition %d: taken by %s", index, self.name)
        self._starting[index] = asyncio.create_task(
            partition.start(), name=f"execution partition {index}"
        )

    async def _give_up(self, index: int, *, release: bool) -> None:
        """Stop matching the partition at once; then (``release``) free its lease."""
        lease, partition = self.held.pop(index)
        partition.live = False
        starting = self._starting.pop(index, None)
        if starting is not None and not starting.done():
            starting.cancel()
        if starting is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
        await partition.stop()
        if release:
            with contextlib.suppress(Exception):
                await leases.release(self.kv, lease)
            self.runtime.log.info("partition %d: handed back by %s", index, self.name)
