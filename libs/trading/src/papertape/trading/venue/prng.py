"""A small deterministic PRNG (SplitMix64) seeded from a seed and a key, and the noise it makes."""

from __future__ import annotations

import hashlib
from decimal import Decimal

_MASK = (1 << 64) - 1
_UNIT_BITS = 53
_UNIT = Decimal(1 << _UNIT_BITS)
_IRWIN_HALL_TERMS = 12


def key_seed(seed: int, key: str) -> int:
    """A 64-bit state from a seed and a key (stable across processes, unlike ``hash``)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class SplitMix64:
    """Sebastiano Vigna's SplitMix64: tiny, fast, and the same everywhere."""

    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        self.state = state & _MASK

    def next(self) -> int:
        """The next 64 random bits."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def unit(self) -> Decimal:
        """A uniform Decimal in [0, 1) with 53 bits."""
        return Decimal(self.next() >> (64 - _UNIT_BITS)) / _UNIT

    def normal(self) -> Decimal:
        """An approximately standard normal Decimal (Irwin-Hall: twelve uniforms minus six)."""
        total = sum(self.next() >> (64 - _UNIT_BITS) for _ in range(_IRWIN_HALL_TERMS))
        return Decimal(total) / _UNIT - 6


def normal_for(seed: int, key: str) -> Decimal:
    """One normal draw for ``key`` (an order id and fill sequence) under ``seed``."""
    return SplitMix64(key_seed(seed, key)).normal()
