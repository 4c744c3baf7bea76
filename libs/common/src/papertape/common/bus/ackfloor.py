"""An in-order durable push consumer acknowledged with AckAll: one ack for many messages.

A consumer handled one message at a time in stream order (the venue's market data, thousands of
quotes a second) spent a tenth of its time acknowledging each message. With the ``all`` ack
policy one acknowledgement of message ``n`` acknowledges every message up to ``n``; here it is
sent for the latest handled message at most every ``LINGER_S`` (and at once before anything is
held back, below), so a crash leaves at most that much handled but unacknowledged: it is
delivered and handled again, as any message received but not acknowledged is (the handler
must take a repeat, as for explicit acks).

The rule that keeps it safe: acknowledging ``n`` must never cover a message still owed a
redelivery. A message the guard NACKs (a transient failure: it comes again after its backoff)
is *held*; while any message is held nothing is acknowledged (what was handled before it is
acknowledged first, when it is held), and once the last held message has been handled on its
redelivery the latest handled message is acknowledged, covering everything in between. A
message dead-lettered by the guard counts as handled (explicit acks acknowledge it too). While
held, the server keeps delivering up to the consumer's ``max_ack_pending``, then waits for the
acknowledgement: the consumer pauses rather than running far ahead of its floor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from faststream.message import AckStatus
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig

from papertape.common.bus.consumers import wrapped

if TYPE_CHECKING:
    from papertape.common.runtime import Handler, ServiceRuntime

LINGER_S = 0.005
"""How long the latest handled message waits for its acknowledgement (later ones share it)."""


class AckFloor:
    """Acknowledges handled messages of an AckAll consumer, never past one still owed."""

    def __init__(
        self, *, linger_s: float = LINGER_S, live: Callable[[], bool] | None = None
    ) -> None:
        self.linger_s = linger_s
        self._live = live
        self._latest: Msg | None = None
        """The handled message of the highest stream sequence not acknowledged yet."""
        self.held: set[int] = set()
        """Stream sequences NACKed and not yet handled."""
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def handled(self, raw: Msg) -> None:
        """``raw`` is done with (handled, or dead-lettered)."""
        if self.held:
            self.held.discard(raw.metadata.sequence.stream)
            latest = self._latest
            if latest is None or latest.metadata.sequence.stream < raw.metadata.sequence.stream:
                self._latest = raw
            if self.held:
                return
        else:
            self._latest = raw
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.linger_s, self.flush)

    def nacked(self, raw: Msg) -> None:
        """``raw`` was NACKed: it comes again, and until then nothing past it is acknowledged."""
        seq = raw.metadata.sequence.stream
        latest = self._latest
        if not self.held and latest is not None and latest.metadata.sequence.stream < seq:
            self.flush()  # what came before it is handled: acknowledged now, not held with it
        self.held.add(seq)

    def flush(self) -> None:
        """Acknowledge the latest handled message now (nothing while a message is held, or
        once no longer ``live``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        latest = self._latest
        if latest is None or self.held or (self._live is not None and not self._live()):
            return
        self._latest = None
        task = asyncio.get_running_loop().create_task(_ack(latest))
        self._sending.add(task)  # held until sent (the loop keeps only weak references)
        task.add_done_callback(self._sending.discard)


async def _ack(raw: Msg) -> None:
    # The connection may be gone (the service stopping): what this ack would have covered is
    # delivered again from the floor, as after a crash.
    with contextlib.suppress(Exception):
        await raw.ack()


async def consume_in_order_acking_all(
    runtime: ServiceRuntime,
    name: str,
    subject: str,
    handler: Handler[object],
    *,
    stream: str,
    queue: str,
    config: ConsumerConfig,
    live: Callable[[], bool] | None = None,
) -> Subscription:
    """A durable JetStream push consumer (deliver group ``queue``, also its durable name) with
    ``config`` made AckAll, acknowledged by an ``AckFloor``: each message through ``guarded``
    (its retries and dead letter), one at a time, in stream order; while ``live`` answers
    False, neither handled nor acknowledged. The consumer must be new (an existing one cannot
    change its ack policy)."""
    config.ack_policy = AckPolicy.ALL
    one = runtime.guarded(name)(handler)
    floor = AckFloor(live=live)

    async def on_message(raw: Msg) -> None:
        if live is not None and not live():
            return
        msg = wrapped(raw)
        await one(msg)
        if msg.committed is AckStatus.NACKED:
            floor.nacked(raw)
        else:
            floor.handled(raw)

    return await runtime.js.subscribe(
        subject,
        queue=queue,
        stream=stream,
        config=config,
        cb=on_message,
        manual_ack=True,
        pending_msgs_limit=1_000_000,
    )
