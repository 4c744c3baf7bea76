"""Partition ownership by PostgreSQL advisory locks: replicas split the partitions, a replica
whose connection drops stops serving at once, and the others take its partitions over."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio

from papertape.portfolio.ownership import HEAD, PartitionLeases

pytestmark = pytest.mark.integration
PARTITIONS = 4


class Replica:
    """A lease holder as a replica sees it: what it serves, by its callbacks."""

    def __init__(self, dsn: str, namespace: str) -> None:
        self.serving: set[int] = set()
        self.leases = PartitionLeases(
            dsn, namespace, PARTITIONS, on_gained=self._gained, on_lost=self._lost, interval_s=0.1
        )
        self.task = asyncio.create_task(self.leases.run())

    async def _gained(self, k: int) -> None:
        assert k not in self.serving
        self.serving.add(k)

    async def _lost(self, k: int) -> None:
        self.serving.discard(k)

    def partitions(self) -> set[int]:
        return self.serving - {HEAD}

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest_asyncio.fixture
async def start(fresh_database: str) -> AsyncIterator[Callable[[str], Replica]]:
    started: list[Replica] = []

    def replica(namespace: str = "own") -> Replica:
        started.append(Replica(fresh_database, namespace))
        return started[-1]

    yield replica
    for one in started:
        await one.stop()


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def test_two_replicas_split_the_partitions_and_one_runs_the_log_head(
    start: Callable[[str], Replica],
) -> None:
    first = start("own")
    await until(lambda: first.partitions() == set(range(PARTITIONS)))
    second = start("own")

    await until(lambda: len(first.partitions()) == len(second.partitions()) == 2)
    assert not first.partitions() & second.partitions()
    assert (HEAD in first.serving) != (HEAD in second.serving), "one log head"


async def test_a_replica_whose_connection_drops_stops_serving_and_the_other_takes_over(
    start: Callable[[str], Replica], fresh_database: str
) -> None:
    first, second = start("own"), start("own")
    await until(lambda: len(first.partitions()) == len(second.partitions()) == 2)
    await until(lambda: HEAD in first.serving | second.serving)
    victim, survivor = (first, second) if HEAD in first.serving else (second, first)
    assert victim.leases._conn is not None
    pid = victim.leases._conn.get_server_pid()
    victim.leases._dsn = "postgresql://postgres@127.0.0.1:1/gone"  # cut off: it cannot come back

    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)  # as if it died
    finally:
        await conn.close()
    killed_at = time.monotonic()
    await until(lambda: victim.serving == set(), seconds=2)
    await until(
        lambda: survivor.partitions() == set(range(PARTITIONS)) and HEAD in survivor.serving
    )

    print(f"takeover after the lock connection dropped: {time.monotonic() - killed_at:.2f}s")
    assert victim.serving == set()


async def test_namespaces_own_their_partitions_apart(start: Callable[[str], Replica]) -> None:
    one, other = start("one"), start("other")

    await until(lambda: one.partitions() == other.partitions() == set(range(PARTITIONS)))
