"""Group commit: appends from concurrent writers in one process share one statement.

Every append still locks the log's head, chains its hashes and checks its own stream's
version, but the appends queued while a group is in flight go out together in the next one,
so one disk flush serves them all. A group is one statement (``append_group``), committed on
its own: one round trip, where BEGIN, the append and COMMIT were three, each waiting for a busy
event loop to read its answer. Up to ``in_flight`` groups are sent at once, on connections of
their own: the second waits in the database for the first one's lock on the head and goes the
moment it commits, instead of a round trip later (a stream has one append in flight at a time,
as its writer waits for it, so groups never race for a stream's versions; which of two groups
commits first does not matter). Each writer's ``append`` returns (or raises its own
``ConcurrencyError``) only after the group holding its events has committed. When a group
fails (a partial retry, a bad stream id, a lost connection), nothing of it was written and each
of its appends is tried again alone, so each writer hears its own outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from papertape.common.eventlog.port import ConcurrencyError, NewEvent

Connection = asyncpg.pool.PoolConnectionProxy
AppendOn = Callable[[Connection, str, int | None, Sequence[NewEvent]], Awaitable[list[int]]]
AppendGroupOn = Callable[
    [Connection, Sequence[tuple[str, int | None, Sequence[NewEvent]]]],
    Awaitable[list[list[int] | ConcurrencyError]],
]


@dataclass
class _Append:
    stream_id: str
    expected_version: int | None
    events: Sequence[NewEvent]
    done: asyncio.Future[list[int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    """Queues appends and writes them in as few transactions as concurrency allows."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        append_on: AppendOn,
        append_group_on: AppendGroupOn,
        max_group: int = 256,
        in_flight: int = 2,
    ) -> None:
        self._pool = pool
        self._append_on = append_on
        self._append_group_on = append_group_on
        self._max_group = max_group
        self._in_flight = in_flight
        self._queue: list[_Append] = []
        self._writers: set[asyncio.Task[None]] = set()
        self.transactions = 0
        self.appends = 0
        self.on_commit: Callable[[float, int], None] | None = None
        """Told each committed transaction's seconds and appends (the service's metrics)."""

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[int]:
        """Append with the others waiting now; returns this append's positions."""
        request = _Append(stream_id, expected_version, events)
        self._queue.append(request)
        self._send()
        return await asyncio.shield(request.done)

    def _send(self) -> None:
        """Send what waits as a group, while fewer than ``in_flight`` groups are out."""
        while self._queue and len(self._writers) < self._in_flight:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            writer = asyncio.create_task(self._write(group), name="eventlog group commit")
            self._writers.add(writer)
            writer.add_done_callback(self._written)

    def _written(self, writer: asyncio.Task[None]) -> None:
        self._writers.discard(writer)
        self._send()  # what queued meanwhile goes as the next group

    async def _write(self, group: list[_Append]) -> None:
        if len(group) == 1:
            await self._alone(group[0])
            return
        try:
            await self._together(group)
        except Exception:  # nothing of the group was written: one statement each
            for request in group:
                await self._alone(request)

    async def _together(self, group: list[_Append]) -> None:
        appends = [(r.stream_id, r.expected_version, r.events) for r in group]
        started = time.perf_counter()
        async with self._pool.acquire() as conn:  # one statement: committed on its own
            results = await self._append_group_on(conn, appends)
        self._committed(time.perf_counter() - started, len(group))
        for request, result in zip(group, results, strict=True):
            if isinstance(result, ConcurrencyError):
                _settle(request, error=result)
            else:
                _settle(request, positions=result)

    async def _alone(self, request: _Append) -> None:
        started = time.perf_counter()
        try:
            async with self._pool.acquire() as conn:
                positions = await self._append_on(
                    conn, request.stream_id, request.expected_version, request.events
                )
        except Exception as error:
            _settle(request, error=error)
        else:
            self._committed(time.perf_counter() - started, 1)
            _settle(request, positions=positions)

    def _committed(self, seconds: float, appends: int) -> None:
        self.transactions += 1
        self.appends += appends
        if self.on_commit is not None:
            self.on_commit(seconds, appends)


def _settle(
    request: _Append, *, positions: list[int] | None = None, error: BaseException | None = None
) -> None:
    with contextlib.suppress(asyncio.InvalidStateError):
        if error is not None:
            request.done.set_exception(error)
        else:
            request.done.set_result(positions or [])
