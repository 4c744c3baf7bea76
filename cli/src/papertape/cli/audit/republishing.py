"""``audit republish``: a range of the log sent again to ``replay.<name>`` for a new subscriber.

Each message is the event's envelope (``data`` exactly as stored) with headers
``Nats-Msg-Id`` = event id, ``Papertape-Position`` and ``Papertape-Stream``. By default it goes
out on core NATS: only subscribers listening at that moment get it, so start the subscriber
first. With ``jetstream=True`` every message is published to JetStream and acknowledged,
deduplicated by the event id: the subscriber must first create a stream over the subject
(no platform stream covers ``replay.>``, on purpose: a replay is for one subscriber).
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec
from nats.aio.client import Client

from papertape.cli.audit.exports import selected
from papertape.cli.output import Advance
from papertape.common.bus.publishing import MSG_ID, publish
from papertape.common.codec import encode
from papertape.common.eventlog import EventLog, RecordedEvent, decode_metadata
from papertape.common.events.envelope import Envelope
from papertape.common.ids import EventId, StreamId

POSITION_HEADER = "Papertape-Position"
STREAM_HEADER = "Papertape-Stream"
_FLUSH_EVERY = 1_000  # bounds what sits in the client's buffer on core NATS


def envelope_of(recorded: RecordedEvent) -> Envelope[msgspec.Raw]:
    """The stored event as an envelope, its data untouched."""
    meta = decode_metadata(recorded)
    return Envelope(
        event_id=EventId(recorded.event_id),
        stream_id=StreamId(recorded.stream_id),
        stream_version=recorded.stream_version,
        occurred_at=meta.occurred_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
        actor=meta.actor,
        traceparent=meta.traceparent,
        tracestate=meta.tracestate,
        recorded_at=recorded.recorded_at,
        position=recorded.position,
        data=msgspec.Raw(recorded.data.encode()),
    )


def headers_of(recorded: RecordedEvent) -> dict[str, str]:
    """The dedup id and where the event sits in the log."""
    return {
        MSG_ID: recorded.event_id,
        POSITION_HEADER: str(recorded.position),
        STREAM_HEADER: recorded.stream_id,
    }


async def republish(
    log: EventLog,
    nc: Client,
    subject: str,
    *,
    streams: Collection[str] = (),
    from_position: int = 1,
    to_position: int | None = None,
    jetstream: bool = False,
    advance: Advance | None = None,
) -> int:
    """Publish the selected events in position order; how many were sent."""
    js = nc.jetstream() if jetstream else None
    sent = 0
    batches = selected(log, streams=streams, from_position=from_position, to_position=to_position)
    async for batch in batches:
        for recorded in batch:
            payload = encode(envelope_of(recorded))
            if js is not None:
                await publish(
                    js, subject, payload, msg_id=recorded.event_id, headers=headers_of(recorded)
                )
            else:
                await nc.publish(subject, payload, headers=headers_of(recorded))
            sent += 1
            if js is None and sent % _FLUSH_EVERY == 0:
                await nc.flush()
        if advance is not None:
            advance(len(batch))
    await nc.flush()
    return sent
