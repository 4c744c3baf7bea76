"""The venue's market data: a durable push consumer of MARKET, resumed at its acknowledged floor.

A push consumer delivers in order without a round trip per message (a pull consumer of batch 1
would need one), acknowledged with AckAll (``papertape.common.bus.ackfloor``: one ack every few
milliseconds covers the quotes handled since, never one NACKed for a redelivery; thousands of
quotes a second). Only quotes and bars of the one width the venue matches on are handed over;
the others are acknowledged unread. Each start (a restart, or a replica taking a partition
over) recreates the consumer at the floor acknowledged before (``resume_at_floor``; so a consumer
made with explicit acks by an older version is made again with AckAll): what a killed process
had received but never acknowledged (at most the last few milliseconds it handled) is matched
again at once and in order, not after its ack wait behind newer messages. Only one process at
a time may follow a durable, so replicas share the market by partition (each its own durable),
not through one deliver group. (A process killed between the removal and the creation, two API
calls apart, leaves no consumer: the next start begins with what is new. JetStream 2.9 cannot
move a consumer back to its floor in place.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsMessage
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from papertape.common.bus.ackfloor import consume_in_order_acking_all
from papertape.common.runtime import ServiceRuntime
from papertape.contract.events.market import Timeframe

ACK_WAIT_S = 150.0
"""Longer than a book's rebuild may take (a message waits in the handler until it is whole)."""


async def resume_at_floor(runtime: ServiceRuntime, durable: str, config: ConsumerConfig) -> None:
    """Make ``config`` start where ``durable`` was acknowledged up to, removing the old consumer
    (only its one follower touches it); a new one starts with what is new."""
    stream = runtime.subjects.stream("MARKET")
    try:
        info = await runtime.js.consumer_info(stream, durable)
    except NotFoundError:
        config.deliver_policy = DeliverPolicy.NEW
        return
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    await runtime.js.delete_consumer(stream, durable)
    config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
    config.opt_start_seq = floor + 1


async def follow_market(
    runtime: ServiceRuntime,
    bar_timeframe: Timeframe,
    durable: str,
    match: Callable[[bytes], Awaitable[None]],
    *,
    live: Callable[[], bool] | None = None,
) -> Subscription:
    """Quotes and the venue's bars to ``match``, in order, from ``durable``'s floor (``live``:
    see ``ackfloor.consume_in_order_acking_all``)."""
    subjects = runtime.subjects
    quotes = subjects.all_quotes().removesuffix("*")
    bars = subjects.bars(bar_timeframe).removesuffix("*")
    config = runtime.consumer_config(ack_wait=ACK_WAIT_S)
    await resume_at_floor(runtime, durable, config)

    async def on_market_event(msg: NatsMessage) -> None:
        subject = msg.raw_message.subject
        if subject.startswith(quotes) or subject.startswith(bars):
            await match(msg.body)

    # Untraced: a fill continues its order's trace, not the quote's.
    return await consume_in_order_acking_all(
        runtime,
        "market",
        subjects.all_market(),
        on_market_event,
        stream=subjects.stream("MARKET"),
        queue=durable,
        config=config,
        live=live,
    )
