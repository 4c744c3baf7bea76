"""Envelopes go into the log as JSON and come back decoded, upcast to the current version."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from papertape.common.eventlog import (
    InMemoryEventLog,
    RecordedEvent,
    StoredEnvelope,
    decode_envelope,
    envelope_of,
    new_event,
    stored_envelope,
)
from papertape.contract.codec import Codec, encode, register_upcaster
from papertape.contract.events.base import Event
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import Actor, CorrelationId, EventId, StreamId


class LedgerCredited(Event, frozen=True, kw_only=True):
    """Version 1: an amount without a currency."""

    amount: Decimal


class LedgerCreditedV2(Event, frozen=True, kw_only=True):
    """Version 2: the currency is explicit."""

    amount: Decimal
    currency: str


register_upcaster(LedgerCredited, lambda old: LedgerCreditedV2(amount=old.amount, currency="USD"))
codec: Codec[LedgerCredited | LedgerCreditedV2] = Codec(LedgerCredited | LedgerCreditedV2)


def envelope(data: Event, event_id: str) -> Envelope[Event]:
    return Envelope(
        event_id=EventId(event_id),
        stream_id=StreamId("ledger-1"),
        stream_version=0,
        occurred_at=datetime(2024, 3, 1, 12, tzinfo=UTC),
        correlation_id=CorrelationId("corr-1"),
        actor=Actor("trader"),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        data=data,
    )


async def stored(sent: Envelope[Event]) -> RecordedEvent:
    """The envelope appended to a fresh log and read back."""
    log = InMemoryEventLog()
    await log.append("ledger-1", 0, [new_event(sent)])
    [[recorded]] = [batch async for batch in log.read_stream("ledger-1")]
    return recorded


async def test_a_stored_envelope_comes_back_with_its_position_and_metadata() -> None:
    sent = envelope(
        LedgerCreditedV2(amount=Decimal("10.50"), currency="EUR"),
        "018e0000-0000-7000-8000-000000000001",
    )

    recorded = await stored(sent)
    received = decode_envelope(recorded, codec)

    assert (recorded.type, recorded.schema_version) == ("ledger_credited", 2)
    assert received.data == sent.data
    assert (received.position, received.stream_version) == (1, 1)
    assert (received.actor, received.traceparent) == (sent.actor, sent.traceparent)
    assert received.occurred_at == sent.occurred_at


async def test_an_old_schema_version_is_upcast_on_read() -> None:
    log = InMemoryEventLog()
    old = envelope(LedgerCredited(amount=Decimal(3)), "018e0000-0000-7000-8000-000000000002")
    await log.append("ledger-1", 0, [new_event(old)])

    [[recorded]] = [batch async for batch in log.read_stream("ledger-1")]

    assert recorded.schema_version == 1
    assert decode_envelope(recorded, codec).data == LedgerCreditedV2(
        amount=Decimal(3), currency="USD"
    )


async def test_a_stored_envelope_as_published_is_the_envelope_in_the_same_bytes() -> None:
    sent = envelope(
        LedgerCreditedV2(amount=Decimal("10.50"), currency="EUR"),
        "018e0000-0000-7000-8000-000000000003",
    )
    recorded = await stored(sent)

    as_stored = encode(stored_envelope(recorded))
    assert as_stored == encode(envelope_of(recorded, msgspec.Raw(recorded.data)))
    assert b'"traceparent":"00-0af7651916cd43dd8448eb211c80319c' in as_stored


def test_the_stored_envelope_has_the_fields_of_an_envelope_in_its_order() -> None:
    def fields(cls: type[msgspec.Struct]) -> list[tuple[str, object]]:
        return [(f.name, f.default) for f in msgspec.structs.fields(cls)]

    assert fields(StoredEnvelope) == fields(Envelope)
