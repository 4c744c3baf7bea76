"""Batches of a pull consumer handled without waiting for the batch before: per key, in order.

A batch's messages start at once, in stream order (each takes its place in an ordered queue
before it first waits: the portfolio's account mailboxes). Waiting for a whole batch before
fetching the next made every message wait for the slowest key of the batch before it (under
load, an execution report waited a tenth of a second for other accounts' turns). Here the next
batch is fetched at once, and a message waits only for the messages of its own key before it:
per key one group is in flight at a time, and it is settled (each message handled and
acknowledged, or NACKed and noted by the ``KeyOrder``) before the next group starts, so that
group sees what it left, exactly as when each batch waited for the one before. What comes for
a key while its group is in flight waits and starts together as the next group (one mailbox
turn, as a batch was): under load the groups grow as the batches did.

At most ``limit`` messages are in flight or waiting: a fetch waits for room. A message whose
handling raises (the connection lost while acknowledging, say) fails the consumer at the next
batch or through ``failed``, as a failed batch did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.msg import Msg


class KeyedPipeline:
    """Per key, one group of messages handled at a time; what comes meanwhile waits, and goes
    together as the next group."""

    def __init__(
        self,
        each: Callable[[Msg], Awaitable[None]],
        key: Callable[[str], str],
        *,
        limit: int,
    ) -> None:
        self._each, self._key = each, key
        self._room = asyncio.Semaphore(limit)
        self._waiting: dict[str, list[Msg]] = {}
        """Per key, in stream order, what waits for the key's group in flight to settle."""
        self._running: set[str] = set()
        """The keys with a group in flight."""
        self._tasks: set[asyncio.Task[None]] = set()
        """The groups and their messages' tasks in flight."""
        self.failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handle(self, messages: Sequence[Msg]) -> None:
        """Take the batch: a key with nothing in flight starts its messages at once, in stream
        order; a key with a group in flight keeps them for its next group."""
        if self.failed.done():
            self.failed.result()  # raises what failed
        for raw in messages:
            if self._room.locked():  # what is gathered starts before waiting for room
                self._start_idle()
            await self._room.acquire()
            self._waiting.setdefault(self._key(raw.subject), []).append(raw)
        self._start_idle()

    def _start_idle(self) -> None:
        for key in [key for key in self._waiting if key not in self._running]:
            self._start(key, self._waiting.pop(key))

    def _start(self, key: str, raws: list[Msg]) -> None:
        self._running.add(key)
        group = asyncio.create_task(self._group(key, raws))
        self._tasks.add(group)
        group.add_done_callback(self._tasks.discard)

    async def _group(self, key: str, raws: list[Msg]) -> None:
        started = []
        for raw in raws:  # created in order, so started in order: each takes its place first
            task = asyncio.create_task(self._one(raw))
            self._tasks.add(task)
            task.add_done_callback(self._settled)
            started.append(task)
        try:
            await asyncio.wait(started)
        except BaseException:  # cancelled (a stop), or closed with its loop: nothing more starts
            self._running.discard(key)
            raise
        self._running.discard(key)
        after = self._waiting.pop(key, None)
        if after and not self.failed.done():
            self._start(key, after)  # what came meanwhile, together

    async def _one(self, raw: Msg) -> None:
        await self._each(raw)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._room.release()
        error = None if task.cancelled() else task.exception()
        if error is not None and not self.failed.done():
            self.failed.set_exception(error)

    async def cancel(self) -> None:
        """Cancel what is in flight (a stop): unacknowledged, it is delivered again."""
        self._waiting.clear()
        while self._tasks:  # the groups and the messages they started, until none is left
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(list(self._tasks))
        if self.failed.done() and not self.failed.cancelled():
            self.failed.exception()  # retrieved: the stop is what is reported
