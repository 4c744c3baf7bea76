"""Envelopes in and out of the log: encode for append, decode (and upcast) on read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from papertape.common.eventlog.port import Metadata, NewEvent, RecordedEvent
from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.base import message_name, schema_version
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import EventId, StreamId

T = TypeVar("T")
E = TypeVar("E")

_metadata = msgspec.json.Decoder(Metadata)


def new_event(envelope: Envelope[Any]) -> NewEvent:
    """What the log stores of an envelope (its stream id and version are the append's)."""
    data_type = type(envelope.data)
    metadata = Metadata(
        occurred_at=envelope.occurred_at,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        actor=envelope.actor,
        traceparent=envelope.traceparent,
        tracestate=envelope.tracestate,
    )
    return NewEvent(
        event_id=str(envelope.event_id),
        type=message_name(data_type),
        schema_version=schema_version(data_type),
        data=encode(envelope.data),
        metadata=encode(metadata),
    )


def decode_metadata(recorded: RecordedEvent) -> Metadata:
    """The event's metadata."""
    return _metadata.decode(recorded.metadata)


def decode_envelope(recorded: RecordedEvent, codec: Codec[T]) -> Envelope[T]:
    """The stored event as an envelope of its current schema version (upcast on read)."""
    return envelope_of(recorded, upcast(codec.decode(recorded.data)))


def envelope_of(recorded: RecordedEvent, data: T) -> Envelope[T]:
    """The stored event's envelope around ``data`` (its decoded data, or its stored bytes as
    ``msgspec.Raw`` to pass them on as they are)."""
    return _wrapped(Envelope, recorded, data)


class StoredEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """An ``Envelope`` field for field, in its order, around the stored data as it is: it
    encodes to the same bytes, without the checks an envelope built in code is given (what
    the log holds was checked before it was appended, and the log stamped the rest)."""

    event_id: str
    stream_id: str
    stream_version: int
    occurred_at: datetime
    correlation_id: str
    causation_id: str | None = None
    actor: str
    traceparent: str | None = None
    tracestate: str | None = None
    recorded_at: datetime | None = None
    position: int | None = None
    data: msgspec.Raw


def stored_envelope(recorded: RecordedEvent) -> StoredEnvelope:
    """The stored event's envelope as it is published: its data passed on as stored."""
    return _wrapped(StoredEnvelope, recorded, msgspec.Raw(recorded.data))


def _wrapped(kind: Callable[..., E], recorded: RecordedEvent, data: Any) -> E:
    meta = _metadata.decode(recorded.metadata)
    return kind(
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
        data=data,
    )
