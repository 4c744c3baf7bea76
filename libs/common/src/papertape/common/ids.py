"""Identifiers: NewTypes for every id on the bus, and the UUIDv7 layout (no clock, no RNG)."""

from __future__ import annotations

import uuid
from typing import NewType

EventId = NewType("EventId", str)
StreamId = NewType("StreamId", str)
CorrelationId = NewType("CorrelationId", str)
CausationId = NewType("CausationId", str)
AccountId = NewType("AccountId", str)
OrderId = NewType("OrderId", str)
ClientOrderId = NewType("ClientOrderId", str)
FillId = NewType("FillId", str)
Symbol = NewType("Symbol", str)
Actor = NewType("Actor", str)


def uuid7_from(unix_ms: int, rand_a: int, rand_b: int) -> uuid.UUID:
    """Build a UUIDv7 (RFC 9562) from a millisecond timestamp and 74 random bits."""
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand_a & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand_b & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def uuid7_time_ms(value: str) -> int:
    """The millisecond timestamp embedded in a UUIDv7."""
    return uuid.UUID(value).int >> 80
