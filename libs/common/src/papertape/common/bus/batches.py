"""A durable JetStream consumer handled a batch at a time, in stream order.

For a handler whose effect is cheaper in bulk (one insert, one commit for many messages):
``BatchConsumer`` pulls what is there (waiting for the first message, then taking whatever
else arrived within ``linger_s``, up to ``batch``) and hands the list to ``handle``, which
acknowledges or NACKs each message itself (``ServiceRuntime.guarded_batch`` does).

Not FastStream's ``PullSub(batch=True)``: it waits to fill a batch for its whole timeout, and
with nats-py 2.x a fetch that ends in ``asyncio.TimeoutError`` escapes its loop with the
messages already fetched, which then wait out their ack timeout before they are seen again.

A stop cancels the consumer's task while it waits in a fetch. On Python 3.11 nats-py's fetch
waits through ``asyncio.wait_for``, which swallows a cancellation that arrives just as a
message (or the fetch's timeout status) does; the loop would then fetch on forever, and the
stop waiting for it would never end. So after every fetch the loop asks whether its task was
asked to stop (``Task.cancelling``) and stops if it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
_TIMEOUTS = (TimeoutError, NatsTimeout)


class BatchConsumer:
    """A durable pull consumer (created when missing) handed to ``handle`` a batch at a time."""

    def __init__(
        self,
        js: JetStreamContext,
        subject: str,
        *,
        stream: str,
        durable: str,
        config: ConsumerConfig,
        handle: BatchHandler,
        log: logging.Logger,
        batch: int = 100,
        linger_s: float = 0.01,
        idle_s: float = 5.0,
    ) -> None:
        self.durable = durable
        self._js, self._subject, self._stream, self._config = js, subject, stream, config
        self._handle, self._log = handle, log
        self._batch, self._linger_s, self._idle_s = batch, linger_s, idle_s
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def subscribe(self) -> None:
        """Bind to the consumer, creating it (before the service says it is ready: a consumer
        of new messages only sees those published once it exists)."""
        if self._subscription is None:
            self._subscription = await self._js.pull_subscribe(
                self._subject, durable=self.durable, stream=self._stream, config=self._config
            )

    async def close(self) -> None:
        """Unbind (the consumer stays on the server, where it goes on from its last ack)."""
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            with contextlib.suppress(Exception):  # a connection already closed has none
                await subscription.unsubscribe()

    async def run(self) -> None:
        """Fetch and handle until cancelled (then unbind); a failure drops the binding (the next
        run binds again) and is raised for the caller's restart policy."""
        try:
            await self.subscribe()
            assert self._subscription is not None
            while True:
                await self._handle(await self._next(self._subscription))
        except asyncio.CancelledError:
            # Unbound at once: a pull subscription left open with a message in its queue holds
            # the connection's drain at a stop (a replica gives a partition's consumer up and
            # runs on, so the binding must go with the task, not with the connection).
            await self.close()
            raise
        except Exception:
            self._subscription = None
            raise

    async def _next(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        while True:
            try:
                messages = await subscription.fetch(1, timeout=self._idle_s)
                break
            except _TIMEOUTS:
                _stop_if_asked()
                continue  # nothing for a while: ask again
        _stop_if_asked()
        if self._batch > 1:  # whatever else is there already, or comes within the linger
            with contextlib.suppress(*_TIMEOUTS):
                messages += await subscription.fetch(self._batch - 1, timeout=self._linger_s)
            _stop_if_asked()
        return messages


def _stop_if_asked() -> None:
    """Raise ``CancelledError`` when this task was cancelled and the cancellation was
    swallowed on its way (it is still counted as requested): the fetch is left unacknowledged,
    to be delivered again."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
