"""Id generators: UUIDv7 from the system clock, or seeded and deterministic for replays."""

from __future__ import annotations

import os
import random
import time
from typing import Protocol

from papertape.contract.ids import uuid7_from


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
            self._counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        rand_b = int.from_bytes(os.urandom(8), "big")
        return str(uuid7_from(now_ms, self._counter, rand_b))


class SeededIdGenerator:
    """Deterministic UUIDv7s for tests, replays and backtests: same seed, same ids."""

    def __init__(self, seed: int = 0, start_ms: int = 1_700_000_000_000) -> None:
        self._random = random.Random(seed)
        self._ms = start_ms

    def new(self) -> str:
        self._ms += 1
        return str(uuid7_from(self._ms, self._random.getrandbits(12), self._random.getrandbits(62)))
