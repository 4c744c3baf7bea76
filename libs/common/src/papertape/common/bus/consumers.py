"""Consumers the runtime's FastStream subscribers would make too slow: batches and firehoses.

``pull_in_lanes``: a durable pull consumer in batches, applied in per-key lanes (an account's
execution reports; ``ackfloor.consume_in_order_acking_all``, the venue's market data, one
message at a time in stream order). ``follow``: a core NATS firehose (every quote).
``answer``: core NATS request-reply, many requests at once (the portfolio's commands). Each
message of the first two goes through ``ServiceRuntime.guarded`` (retries, dead letters, the
handler's metrics) and is acknowledged once handled; what they leave out is FastStream's
per-message machinery (bus middlewares, dependency injection), which cost several times the
handling of a quote.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from faststream.message import AckStatus
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.trace import Span, SpanKind, Tracer

from papertape.common.bus.batches import BatchConsumer
from papertape.common.bus.ordering import KeyOrder, recover_in_flight
from papertape.common.bus.permissions import is_inbox
from papertape.common.bus.pipeline import KeyedPipeline
from papertape.common.bus.redeliveries import deliveries
from papertape.common.lanes import in_lanes
from papertape.common.telemetry.tracing import extract_context

if TYPE_CHECKING:
    from papertape.common.runtime import Handler, ServiceRuntime


PIPELINED_BATCHES = 4
"""Batches in flight at once where each message waits only for its key's earlier ones."""


def pull_in_lanes(
    runtime: ServiceRuntime,
    name: str,
    subject: str,
    *,
    stream: str,
    durable: str,
    lane: Callable[[str], str] | None,
    batch: int = 256,
    ack_wait: float = 30,
    order: KeyOrder | None = None,
) -> Callable[[Handler[object]], Callable[[], Awaitable[None]]]:
    """A durable pull consumer handled in batches, in lanes, each message guarded.

    Batches come as soon as anything is there (``BatchConsumer``, with no linger: one
    lingering pull for the first message, one that does not wait for the rest, so a
    message is handed over the moment it arrives at low load); a batch is split into
    lanes by ``lane(subject)`` (an account's reports): one lane's messages are handled in
    the order the stream holds them, the lanes concurrently, so their effects share a
    group commit. ``lane=None`` starts every message of a batch in stream order and lets none
    wait for the one before: for a handler that takes its place in an ordered queue before
    it first waits (the portfolio's account mailboxes, which then decide an account's reports
    together); with ``order`` too, the next batch is fetched at once and each of its messages
    waits only for its key's messages of earlier batches (``pipeline.KeyedPipeline``, up to
    ``PIPELINED_BATCHES`` batches in flight). Each message goes through ``guarded`` on its
    own (its own span from its headers, retries and dead letter) and is acknowledged as soon
    as it was handled.
    With ``order``, a message NACKed holds back the later messages of its key until it is
    handled (``papertape.common.bus.ordering``). Run the returned coroutine function once
    the runtime is connected (it raises for the caller's restart policy when the consumer
    fails).
    """

    def decorate(handler: Handler[object]) -> Callable[[], Awaitable[None]]:
        each = acking(runtime, name, handler, order=order)

        async def handle(messages: list[Msg]) -> None:
            if lane is None:  # tasks start in the order they were made: the stream's
                await asyncio.gather(*(each(raw) for raw in messages))
            else:
                await in_lanes(messages, lambda raw: lane(raw.subject), each)

        async def run() -> None:
            pipeline = (
                KeyedPipeline(each, order.key_of, limit=PIPELINED_BATCHES * batch)
                if lane is None and order is not None
                else None
            )
            consumer = BatchConsumer(
                runtime.js,
                subject,
                stream=stream,
                durable=durable,
                config=runtime.consumer_config(ack_wait=ack_wait),
                handle=handle if pipeline is None else pipeline.handle,
                log=runtime.log,
                batch=batch,
                linger_s=0.001,
                idle_s=1.0,
            )
            if order is not None:  # what a process before this one left in flight
                await recover_in_flight(
                    order,
                    runtime.js,
                    stream=stream,
                    durable=durable,
                    subject=subject,
                    within=ack_wait,
                    log=runtime.log,
                )
            if pipeline is None:
                await consumer.run()
            else:
                await _pipelined(consumer, pipeline)

        return run

    return decorate


async def _pipelined(consumer: BatchConsumer, pipeline: KeyedPipeline) -> None:
    """The consumer fetching while earlier batches are handled; what fails in either fails it,
    and a stop cancels what is in flight."""
    fetching = asyncio.ensure_future(consumer.run())
    try:
        await asyncio.wait({fetching, pipeline.failed}, return_when=asyncio.FIRST_COMPLETED)
        if pipeline.failed.done():
            pipeline.failed.result()  # raises what a message's handling raised
        fetching.result()
    finally:
        if not fetching.done():
            fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetching
        await pipeline.cancel()


async def follow(
    runtime: ServiceRuntime, name: str, subject: str, handle: Callable[[bytes], object]
) -> Subscription:
    """A core NATS subscription for a firehose (every quote of every symbol), once connected.

    FastStream's per-message machinery (a span, the bus metrics, dependency injection)
    costs more than a quote's whole handling; here each message is only counted
    (``papertape_messages_handled_total``), and one that fails is dead-lettered with its
    reason, as ``guarded`` does on core NATS. ``handle`` takes the payload and must not
    wait: it runs in the order messages arrive.
    """
    ok = runtime.metrics.handled.labels(runtime.service, name, "ok")
    dead = runtime.metrics.handled.labels(runtime.service, name, "dead_lettered")

    async def on_message(msg: Msg) -> None:
        try:
            handle(msg.data)
        except Exception as error:
            dead.inc()
            await runtime.dead_letter(msg.subject, msg.data, msg.headers, error)
        else:
            ok.inc()

    return await runtime.broker.connection.subscribe(
        subject, cb=on_message, pending_msgs_limit=1_000_000
    )


async def answer(
    runtime: ServiceRuntime,
    name: str,
    subject: str,
    handler: Handler[bytes],
    *,
    queue: str,
    workers: int,
) -> Subscription:
    """A core NATS request-reply subscription in queue group ``queue``, once connected: each
    request through ``replying`` (its metrics and error replies), in a span from its headers,
    answered on its reply subject; up to ``workers`` at once.

    Requests are started in the order they arrive (a handler that takes its place in an
    ordered queue before it first waits, as the account book does, keeps that order); when
    all ``workers`` are busy the next waits, and the client library buffers the rest. What it
    leaves out is FastStream's per-message machinery (bus middlewares, dependency injection),
    a fifth of the portfolio's time under load. The subscription lives as long as the
    connection (or until unsubscribed).
    """
    one = runtime.replying(name)(handler)
    tracer = runtime.tracer_provider.get_tracer("papertape.common.runtime")
    connection = runtime.broker.connection
    slots = asyncio.Semaphore(workers)
    running: set[asyncio.Task[None]] = set()

    async def respond(raw: Msg) -> None:
        try:
            with consuming(tracer, raw):
                reply = await one(wrapped(raw))
            if raw.reply and is_inbox(raw.reply):  # ``replying`` dead-lettered any other
                await connection.publish(raw.reply, reply)
        except Exception as error:  # the connection went away: the requester times out, retries
            runtime.log.warning("no answer to a request on %s: %r", raw.subject, error)
        finally:
            slots.release()

    async def on_message(raw: Msg) -> None:
        await slots.acquire()
        task = asyncio.create_task(respond(raw))
        running.add(task)  # held until done (the loop keeps only weak references)
        task.add_done_callback(running.discard)

    return await connection.subscribe(
        subject, queue=queue, cb=on_message, pending_msgs_limit=1_000_000
    )


def acking(
    runtime: ServiceRuntime,
    name: str,
    handler: Handler[object],
    *,
    traced: bool = True,
    live: Callable[[], bool] | None = None,
    order: KeyOrder | None = None,
) -> Callable[[Msg], Awaitable[None]]:
    """A raw JetStream message through ``guarded``, in a span from its headers (unless
    not ``traced``), then acknowledged (a no-op when the guard NACKed it); while ``live``
    answers False, left alone (neither handled nor acknowledged). With ``order``, one that
    comes after a NACKed message of its key is NACKed unread to come after it (a deferral,
    which spends none of its deliveries)."""
    one = runtime.guarded(name)(handler)
    tracer = runtime.tracer_provider.get_tracer("papertape.common.runtime")
    redeliveries = runtime.redeliveries

    async def each(raw: Msg) -> None:
        if live is not None and not live():
            return
        if order is not None and (wait := order.deferral(raw)) is not None:
            redeliveries.deferred(raw)
            await raw.nak(delay=wait)
            return
        msg = wrapped(raw)
        if traced:
            with consuming(tracer, raw):
                await one(msg)
        else:
            await one(msg)
        if order is not None:
            if msg.committed is AckStatus.NACKED:
                order.nacked(raw, redeliveries.delay(deliveries(raw)))
            else:
                order.settled(raw)
        if live is None or live():
            await msg.ack()

    return each


def wrapped(raw: Msg) -> NatsMessage:
    """A raw message as the runtime's wrappers take it (``guarded``, ``replying``)."""
    # The reply subject names the delivery (or the requester): no uuid4 per message for a
    # correlation id.
    return NatsMessage(
        raw_message=raw,
        body=raw.data,
        headers=raw.headers or {},
        reply_to=raw.reply,
        correlation_id=raw.reply,
    )


def consuming(tracer: Tracer, raw: Msg) -> AbstractContextManager[Span]:
    """The span of handling ``raw``, a child of the context its headers carry."""
    return tracer.start_as_current_span(
        f"{raw.subject} process", context=extract_context(raw.headers), kind=SpanKind.CONSUMER
    )
