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
from contextlib import aclosing

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError, NotFoundError

from papertape.cli.audit.exports import selected
from papertape.cli.output import Advance
from papertape.common.bus.publishing import MSG_ID, publish
from papertape.common.eventlog import EventLog, RecordedEvent, decode_envelope
from papertape.contract.codec import Codec, encode
from papertape.contract.events.envelope import Envelope

POSITION_HEADER = "Papertape-Position"
STREAM_HEADER = "Papertape-Stream"
_FLUSH_EVERY = 1_000  # bounds what sits in the client's buffer on core NATS


_raw: Codec[msgspec.Raw] = Codec(msgspec.Raw)


def envelope_of(recorded: RecordedEvent) -> Envelope[msgspec.Raw]:
    """The stored event as an envelope, its data untouched."""
    return decode_envelope(recorded, _raw)


def headers_of(recorded: RecordedEvent) -> dict[str, str]:
    """The dedup id and where the event sits in the log."""
    return {
        MSG_ID: recorded.event_id,
        POSITION_HEADER: str(recorded.position),
        STREAM_HEADER: recorded.stream_id,
    }


class NoReplayStream(Exception):
    """``--jetstream`` was asked for but no stream captures the replay subject."""


async def _require_stream(js: JetStreamContext, subject: str) -> None:
    try:
        await js.find_stream_name_by_subject(subject)
    except NotFoundError:
        raise NoReplayStream(
            f"no JetStream stream captures {subject}: the subscriber creates one first"
            " (or republish without --jetstream to core NATS)"
        ) from None


async def _publish_acked(
    js: JetStreamContext, subject: str, payload: bytes, recorded: RecordedEvent
) -> None:
    try:
        await publish(js, subject, payload, msg_id=recorded.event_id, headers=headers_of(recorded))
    except (NoStreamResponseError, NoRespondersError) as error:
        raise NoReplayStream(
            f"no JetStream stream acknowledged {subject}: the subscriber creates one first"
            " (or republish without --jetstream to core NATS)"
        ) from error


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
    if js is not None:
        await _require_stream(js, subject)
    sent = 0
    chosen = selected(log, streams=streams, from_position=from_position, to_position=to_position)
    async with aclosing(chosen) as batches:
        async for batch in batches:
            for recorded in batch:
                payload = encode(envelope_of(recorded))
                if js is not None:
                    await _publish_acked(js, subject, payload, recorded)
                else:
                    await nc.publish(subject, payload, headers=headers_of(recorded))
                sent += 1
                if js is None and sent % _FLUSH_EVERY == 0:
                    await nc.flush()
            if advance is not None:
                advance(len(batch))
    await nc.flush()
    return sent
