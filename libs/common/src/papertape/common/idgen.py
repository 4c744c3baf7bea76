"""Id generators: UUIDv7 from the system clock, or seeded and deterministic for replays."""

from __future__ import annotations

import os
import random
import time
from typing import Protocol

from papertape.contract.ids import uuid7_from

_ENTROPY_BYTES = 4096
_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


class _Entropy:
    """The OS's randomness read a page at a time: one ``os.urandom`` call for hundreds of ids,
    not two per id (a gateway placement makes one). A forked child starts with none read, so
    parent and child never hand out the same bytes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._at = 0
        os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        self._buffer, self._at = b"", 0

    def take(self, count: int) -> int:
        """``count`` fresh random bytes, as an unsigned big-endian integer."""
        at = self._at
        if at + count > len(self._buffer):
            self._buffer, at = os.urandom(_ENTROPY_BYTES), 0
        self._at = at + count
        return int.from_bytes(self._buffer[at : at + count], "big")


_entropy = _Entropy()


def uuid7_text(unix_ms: int, rand_a: int, rand_b: int) -> str:
    """``str(uuid7_from(unix_ms, rand_a, rand_b))`` without building a ``uuid.UUID``."""
    value = (
        (unix_ms & _MS_MASK) << 80
        | 0x7 << 76
        | (rand_a & 0xFFF) << 64
        | 0b10 << 62
        | rand_b & _RAND_B_MASK
    )
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class IdGenerator(Protocol):
    """Makes new, time-ordered unique ids."""

    def new(self) -> str: ...


class Uuid7Generator:
    """UUIDv7 from the system clock and the OS's randomness; monotonic within a process."""

    def __init__(self) -> None:
        self._last_ms = 0
        self._counter = 0

    def new(self) -> str:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= self._last_ms:
            # Same (or earlier) millisecond: bump a 12-bit counter so ids stay sortable.
            self._counter += 1
            if self._counter > 0xFFF:
                self._last_ms += 1
                self._counter = 0
            now_ms = self._last_ms
        else:
            self._last_ms = now_ms
            self._counter = _entropy.take(2) & 0x3FF
        return uuid7_text(now_ms, self._counter, _entropy.take(8))


class SeededIdGenerator:
    """Deterministic UUIDv7s for tests, replays and backtests: same seed, same ids."""

    def __init__(self, seed: int = 0, start_ms: int = 1_700_000_000_000) -> None:
        self._random = random.Random(seed)
        self._ms = start_ms

    def new(self) -> str:
        self._ms += 1
        return str(uuid7_from(self._ms, self._random.getrandbits(12), self._random.getrandbits(62)))
