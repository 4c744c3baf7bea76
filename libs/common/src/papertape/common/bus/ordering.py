"""Keeping one key's messages in stream order across NACKs and redeliveries.

JetStream delivers a consumer's messages in stream order the first time, but a NACKed message
comes back when its delay is over, and by then later messages may have been handled: a
report NACKed five times during a database outage waits 15 s, a later report of the same
account NACKed once waits 0.2 s, and once the database is back the later one is applied
first (a closing fill before the opening one is refused as a short sale). ``KeyOrder`` holds
the stream sequences of each key's NACKed messages until they are handled; a message of that
key that comes after one of them in the stream is not handled but NACKed again, to come back
after the earliest one is due (``deferral``), so a key's messages are handled in the order
the stream holds them. Other keys go on.

It knows what this process saw: after a restart the first redeliveries may come in any order
(JetStream keeps no order among messages it redelivers after their delays).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from papertape.common.bus.redeliveries import message_key

DEFER_MARGIN_S = 0.05
"""A deferred message comes back this long after the last earlier one of its key is due."""
MIN_DEFER_S = 0.2


class KeyOrder:
    """Per key, the NACKed messages not yet handled, each with when it is due again."""

    def __init__(
        self, key: Callable[[str], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._key = key
        self._clock = clock
        self._held: dict[str, dict[int, float]] = {}

    def deferral(self, raw: Any) -> float | None:
        """None when ``raw`` may be handled now; else how long to NACK it for (a message of
        its key that comes before it in the stream is NACKed and not yet handled). A deferred
        message is held like a NACKed one."""
        held = self._held.get(self._key(raw.subject))
        if not held:
            return None
        sequence = _sequence(raw)
        earlier = [due for seq, due in held.items() if seq < sequence]
        if not earlier:
            return None
        now = self._clock()
        delay = max(MIN_DEFER_S, max(earlier) - now + DEFER_MARGIN_S)
        held[sequence] = now + delay
        return delay

    def nacked(self, raw: Any, delay: float) -> None:
        """``raw`` was NACKed: it comes back after ``delay`` and holds back its key's later
        messages until it is handled."""
        key = self._key(raw.subject)
        self._held.setdefault(key, {})[_sequence(raw)] = self._clock() + delay

    def settled(self, raw: Any) -> None:
        """``raw`` was handled (acknowledged or dead-lettered): it holds nothing back now."""
        key = self._key(raw.subject)
        held = self._held.get(key)
        if held is None:
            return
        held.pop(_sequence(raw), None)
        if not held:
            del self._held[key]

    def held(self, key: str) -> list[int]:
        """The stream sequences of ``key`` held back, in stream order (for tests and logs)."""
        return sorted(self._held.get(key, ()))


def _sequence(raw: Any) -> int:
    found = message_key(raw)
    if found is None:
        raise ValueError("a message kept in order must come from a JetStream stream")
    return found[1]
