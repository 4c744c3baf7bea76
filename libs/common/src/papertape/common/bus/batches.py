"""A durable JetStream pull consumer handed over in batches, as soon as anything is there.

FastStream's batch subscriber waits for a batch to fill (or its timeout to pass), which puts
that wait on every message when the load is light; and a pull of one message at a time pays a
round trip per message when it is heavy. Here one lingering pull waits for the first message,
and one pull that does not wait takes whatever else is already there (up to ``batch``): at low
load a message is handed over the moment it arrives, at high load hundreds go in one batch.
Nothing is acknowledged here: the handler acknowledges each message when it is done with it,
so a crash redelivers exactly what was not handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from papertape.common.bus.deadletters import TRANSIENT_BUS_ERRORS

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
log = logging.getLogger("papertape.bus.batches")


class BatchPuller:
    """Pulls ``subject`` through the durable consumer and hands each batch to ``handle``.

    ``js`` gives the JetStream context when ``run`` starts (a service builds its pullers
    before it connects)."""

    def __init__(
        self,
        js: Callable[[], JetStreamContext],
        subject: str,
        handle: BatchHandler,
        *,
        stream: str,
        durable: str,
        config: ConsumerConfig,
        batch: int = 256,
        idle_s: float = 1.0,
        drain_s: float = 0.001,
    ) -> None:
        self._js = js
        self._subject = subject
        self._handle = handle
        self._stream = stream
        self._durable = durable
        self._config = config
        self._batch = batch
        self._idle_s = idle_s
        self._drain_s = drain_s
        self.batches = 0
        self.messages = 0

    async def run(self) -> None:
        """Pull and hand over batches until cancelled; NATS away is waited out, not fatal."""
        sub = await self._js().pull_subscribe(
            self._subject, durable=self._durable, stream=self._stream, config=self._config
        )
        pause = 0.1
        while True:
            try:
                messages = await self._next_batch(sub)
            except TimeoutError:
                continue  # nothing came while idle: ask again
            except TRANSIENT_BUS_ERRORS as error:
                log.warning("pulling %s: %s; again in %.1fs", self._subject, error, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.1
            self.batches += 1
            self.messages += len(messages)
            await self._handle(messages)

    async def _next_batch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        messages = await sub.fetch(1, timeout=self._idle_s)  # waits for the first
        if self._batch > 1:
            # Nothing else there yet is a timeout (nats-py raises either kind of it).
            with contextlib.suppress(TimeoutError):
                messages += await sub.fetch(self._batch - 1, timeout=self._drain_s)
        return messages
