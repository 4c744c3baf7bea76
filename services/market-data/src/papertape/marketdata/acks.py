"""JetStream publishing with many acknowledgements in flight, each one checked.

Every message is published with its own reply subject under one inbox; the stream's
acknowledgements arrive there and are matched to what is outstanding. Fewer than ``window``
messages are ever unacknowledged. ``flush`` waits for every acknowledgement and republishes
(same ``Nats-Msg-Id``, so JetStream keeps one copy) whatever failed or never got an answer.
Lighter per message than nats-py's ``publish_async``, which is the point: quotes are many.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from papertape.common.bus.publishing import MSG_ID, publish

_ERROR = b'"error"'


class AckedPublisher:
    """Publishes to JetStream with up to ``window`` acknowledgements outstanding."""

    def __init__(self, nc: Client, *, window: int = 8192, ack_timeout_s: float = 10.0) -> None:
        self._nc = nc
        self._window = window
        self._ack_timeout_s = ack_timeout_s
        self._prefix = ""
        self._tokens = itertools.count()
        self._outstanding: dict[str, tuple[str, bytes, str]] = {}
        self._failed: list[tuple[str, bytes, str]] = []
        self._room = asyncio.Event()
        self._drained = asyncio.Event()
        self._subscription: Subscription | None = None
        self.acknowledged = 0
        self.republished = 0

    async def start(self) -> None:
        """Subscribe to the acknowledgement inbox (once)."""
        if self._subscription is None:
            inbox = self._nc.new_inbox()
            self._prefix = inbox + "."
            self._subscription = await self._nc.subscribe(
                inbox + ".*",
                cb=self._on_ack,
                pending_msgs_limit=4 * self._window,
            )

    async def stop(self) -> None:
        await self.flush()
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    async def publish(self, subject: str, payload: bytes, msg_id: str) -> None:
        """Send one message; waits only when the window of unacknowledged messages is full."""
        if self._subscription is None:
            await self.start()
        token = str(next(self._tokens))
        self._outstanding[token] = (subject, payload, msg_id)
        await self._nc.publish(
            subject, payload, reply=self._prefix + token, headers={MSG_ID: msg_id}
        )
        if len(self._outstanding) >= self._window:
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), self._ack_timeout_s)
            except TimeoutError:
                await self.flush()

    async def flush(self) -> int:
        """Wait for every acknowledgement; republish the failed and the unanswered. Returns how
        many were republished."""
        if self._outstanding:
            self._drained.clear()
            # Shielded: nats-py leaves a cancelled PING future in its queue, and the PONG that
            # answers it then kills the client's read loop (InvalidStateError).
            await asyncio.shield(self._nc.flush())
            with contextlib.suppress(TimeoutError):  # the unanswered are republished below
                await asyncio.wait_for(self._drained.wait(), self._ack_timeout_s)
        retry = self._failed + list(self._outstanding.values())
        self._failed, self._outstanding = [], {}
        for subject, payload, msg_id in retry:
            await publish(self._nc.jetstream(), subject, payload, msg_id=msg_id)
        self.republished += len(retry)
        return len(retry)

    async def _on_ack(self, msg: Msg) -> None:
        entry = self._outstanding.pop(msg.subject[len(self._prefix) :], None)
        if entry is None:
            return
        if _ERROR in msg.data or not msg.data:
            self._failed.append(entry)
        else:
            self.acknowledged += 1
        size = len(self._outstanding)
        if size <= self._window // 2:
            self._room.set()
        if size == 0:
            self._drained.set()
