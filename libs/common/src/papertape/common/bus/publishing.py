"""Publishing to JetStream with a deduplication id, the trace context and a retry policy.

``publish`` waits for each message's acknowledgement; ``publish_all`` sends a batch in order
and waits for it together (one round trip for the batch, not one per message: a fast-ingest
batch where the server takes one, else every acknowledgement in flight at once). When any of
the batch fails, ``publish_in_order`` sends it again one by one: JetStream's dedup window
(``Nats-Msg-Id``) keeps one copy of what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError

from papertape.common.bus.deadletters import UnreadableAckError
from papertape.common.bus.fastbatch import NOT_ENABLED, fast_batches
from papertape.common.policies import transient_bus_errors
from papertape.common.telemetry.tracing import inject_headers
from papertape.contract import codec

MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
ACK_WAIT_S = 5.0


def headers_for(msg_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the dedup id and the current trace context."""
    headers = inject_headers(extra)
    headers[MSG_ID] = msg_id
    return headers


async def publish(
    js: JetStreamContext,
    subject: str,
    message: Any,
    *,
    msg_id: str,
    headers: dict[str, str] | None = None,
) -> PubAck:
    """Publish a message (struct or bytes) once: JetStream drops a repeat of ``msg_id``."""
    payload = message if isinstance(message, bytes) else codec.encode(message)
    all_headers = headers_for(msg_id, headers)
    async for attempt in transient_bus_errors():
        with attempt:
            try:
                return await js.publish(subject, payload, headers=all_headers, timeout=ACK_WAIT_S)
            except ValueError as exc:  # nats-py could not decode the answer as JSON
                raise UnreadableAckError(f"no acknowledgement of {subject}: {exc}") from exc
    raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message of a batch: where it goes, its bytes, its dedup id and headers."""

    subject: str
    payload: bytes
    msg_id: str
    headers: dict[str, str] | None = None


def outgoing(subject: str, message: Any, *, msg_id: str) -> Outgoing:
    """A message of a batch, its headers (dedup id, the current trace) taken now."""
    payload = message if isinstance(message, bytes) else codec.encode(message)
    return Outgoing(subject, payload, msg_id, headers_for(msg_id))


async def publish_all(
    js: JetStreamContext,
    messages: Sequence[Outgoing],
    *,
    timeout_s: float = ACK_WAIT_S,
    chained: bool = False,
) -> None:
    """Send the messages in order without waiting one by one, then wait for their
    acknowledgement: as one fast-ingest batch where the server takes them (``fastbatch``),
    else each with its own acknowledgement, all in flight at once.

    Raises the first failure (a refused or missing acknowledgement, the connection away);
    what was stored before it stays stored, so the caller sends the batch again
    (``publish_in_order``) and the dedup window drops the repeats.

    ``chained``: each message after the first is stored only right after the one before it
    (``Nats-Expected-Last-Msg-Id``), so a message the stream missed (refused while its leader
    was being elected, say) makes every later one of the batch refused too, and the stream
    never holds a later message without an earlier one. For a stream this batch's sender is
    the only writer of; another writer in between only sends the batch down the slow path.
    (A fast batch ends at a refused message anyway; the chain also covers the ordinary path.)
    """
    if not messages:
        return
    wire = []
    previous: str | None = None
    for m in messages:
        headers = m.headers or headers_for(m.msg_id)
        if chained and previous is not None:
            headers = {**headers, EXPECTED_LAST_MSG_ID: previous}
        wire.append((m.subject, m.payload, headers))
        previous = m.msg_id
    batches = fast_batches(js) if len(wire) > 1 else None
    if batches is not None:
        try:
            await batches.send(wire, timeout_s)
            return
        except APIError as exc:
            if batches.supported or exc.err_code != NOT_ENABLED:
                raise
            # the stream does not take fast batches: this once, and from now on, the usual way
    acks = [await js.publish_async(subject, payload, headers=h) for subject, payload, h in wire]
    try:
        # Awaited in order under one deadline, not gathered: gather's callback per future
        # cost more than the rest of a message's publish (and the acks arrive in order).
        async with asyncio.timeout(timeout_s):
            for ack in acks:
                await ack
    finally:
        for ack in acks:  # a failure leaves the others: none may outlive the batch
            if not ack.cancel() and not ack.cancelled():
                ack.exception()  # done: a failure after the first is not left unretrieved


async def publish_in_order(js: JetStreamContext, messages: Sequence[Outgoing]) -> None:
    """The slow path: each message after the one before was acknowledged (with retries)."""
    for m in messages:
        await publish(js, m.subject, m.payload, msg_id=m.msg_id, headers=m.headers)
