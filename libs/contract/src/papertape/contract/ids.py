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


_MS_MASK = (1 << 48) - 1
_VARIANT_DIGIT = {f"{n:x}": f"{n & 0x3 | 0x8:x}" for n in range(16)}
"""A hex digit with its top two bits set to the RFC 9562 variant (0b10)."""


def derived_uuid7(key: str, unix_ms: int) -> str:
    """A UUIDv7 whose random bits come from ``key``: the same key always gives the same id.

    ``uuid7_from(unix_ms, rand_a, rand_b)`` with the first 80 bits of the key's SHA-256 as
    ``digest``: ``rand_a`` its top 12 bits, ``rand_b`` its low 62. Written out on the hex
    digits (no integer of 128 bits, no UUID object): an id per signal, order and event.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()  # digits 0-19 are the 80 bits
    ms = f"{unix_ms & _MS_MASK:012x}"
    # rand_a: digits 0-2; rand_b: bits 0-61 of the 80, digits 4-19 with the variant on top
    rand_b = _VARIANT_DIGIT[digest[4]] + digest[5:20]
    return f"{ms[:8]}-{ms[8:]}-7{digest[:3]}-{rand_b[:4]}-{rand_b[4:]}"


def uuid7_time_or(value: str, default_ms: int) -> int:
    """The time of ``value`` when it is a UUIDv7, else ``default_ms``."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return default_ms
    return parsed.int >> 80 if parsed.version == 7 else default_ms
