"""Identifiers: NewTypes for every id on the bus, and the UUIDv7 layout (no clock, no RNG)."""

from __future__ import annotations

import hashlib
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


def derived_uuid7(key: str, unix_ms: int) -> str:
    """A UUIDv7 whose random bits come from ``key``: the same key always gives the same id."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((digest >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= digest & ((1 << 62) - 1)
    h = value.to_bytes(16, "big").hex()  # str(uuid7_from(...)) without a UUID object
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_time_or(value: str, default_ms: int) -> int:
    """The time of ``value`` when it is a UUIDv7, else ``default_ms``."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return default_ms
    return parsed.int >> 80 if parsed.version == 7 else default_ms
