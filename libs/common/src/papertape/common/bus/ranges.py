"""What a JetStream stream holds, read through one short-lived consumer in batches.

For a reader that wants many stored messages at once (every symbol's last quote at a start, a
page of dead letters) without a message-get per message: an ephemeral pull consumer (in memory,
no acknowledgements, gone by itself if its reader dies) delivers them in stream order, a batch
per round trip; it reads what was pending when it was made (what arrives after is the live
feed's) and is deleted when the reader is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

T = TypeVar("T")

BATCH = 1000
"""Messages fetched per round trip."""
FETCH_TIMEOUT_S = 5.0
INACTIVE_S = 60.0
"""How long the server keeps a consumer its reader left without deleting it."""
UNPLACED_RETRY_S = 0.05
"""How soon a fetch the new consumer could not yet answer is asked again."""


async def stored_messages(
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    last_per_subject: bool = False,
    from_sequence: int | None = None,
    below_sequence: int | None = None,
    batch: int = BATCH,
) -> list[Msg]:
    """The stored messages of ``subject`` (a filter, wildcards allowed) in stream order: every
    one, the last of each subject (``last_per_subject``), or those from ``from_sequence`` on;
    ``below_sequence`` ends the read before that sequence."""
    if last_per_subject:
        policy = DeliverPolicy.LAST_PER_SUBJECT
    else:
        policy = DeliverPolicy.ALL if from_sequence is None else DeliverPolicy.BY_START_SEQUENCE
    config = ConsumerConfig(
        filter_subject=subject,
        deliver_policy=policy,
        opt_start_seq=from_sequence if policy is DeliverPolicy.BY_START_SEQUENCE else None,
        ack_policy=AckPolicy.NONE,
        mem_storage=True,
        inactive_threshold=INACTIVE_S,
    )
    consumer = await _asked_again(lambda: js.add_consumer(stream, config=config))
    name, left = consumer.name or "", consumer.num_pending or 0
    reader = await js.pull_subscribe_bind(consumer=name, stream=stream)
    read: list[Msg] = []
    try:
        while left > 0:
            try:
                count = min(left, batch)
                fetched = await _asked_again(
                    lambda: reader.fetch(count, timeout=FETCH_TIMEOUT_S)  # noqa: B023 - awaited here
                )
            except TimeoutError:
                break  # the rest left the stream (its limits) while it was read
            left -= len(fetched)
            if below_sequence is not None:
                kept = [m for m in fetched if m.metadata.sequence.stream < below_sequence]
                read += kept
                if len(kept) < len(fetched):
                    break
            else:
                read += fetched
    finally:
        await reader.unsubscribe()
        with contextlib.suppress(NatsError):  # INACTIVE_S removes it anyway
            await js.delete_consumer(stream, name)
    return read


async def _asked_again(ask: Callable[[], Awaitable[T]]) -> T:
    """``ask()``, asked again while JetStream answers 503 (no responders, or "temporarily
    unavailable"), for up to ``FETCH_TIMEOUT_S``. On a new cluster a consumer just made answers
    its first pulls so until the server that leads it listens (seen at a service's start on a
    new three-node cluster, which the service did not survive), and a consumer cannot be made
    while the servers still elect their meta leader."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FETCH_TIMEOUT_S
    while True:
        try:
            return await ask()
        except ServiceUnavailableError:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(UNPLACED_RETRY_S)
