"""Envelopes in and out of the log: encode for append, decode (and upcast) on read."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from papertape.common.eventlog.port import Metadata, NewEvent, RecordedEvent
from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.base import message_name, schema_version
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import EventId, StreamId

T = TypeVar("T")

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
    meta = _metadata.decode(recorded.metadata)
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
        data=data,
    )
