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

A process that starts (or takes a partition over) after one that died also finds messages
the other left in flight: JetStream hands them out again only once their acknowledgement
wait is over, and the new messages at once. ``recover_in_flight`` reads which messages the
consumer had delivered and not seen acknowledged and presumes each in flight until its wait
is over: a later message of its key waits until it came back and was handled, or until its
wait is over (one acknowledged just before the other process died never comes back).

An entry is dropped when its message is handled, or ``grace`` after it was due, so a message
that never comes back (gone from the stream) cannot hold its key for ever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from papertape.common.bus.ranges import stored_messages
from papertape.common.bus.redeliveries import message_key

DEFER_MARGIN_S = 0.05
"""A deferred message comes back this long after the last earlier one of its key is due."""
MIN_DEFER_S = 0.2
GRACE_S = 30.0
"""How long after it was due an entry is kept for a message that has not come back."""
IN_FLIGHT_GRACE_S = 2.0
"""How long after its acknowledgement wait a message presumed in flight is waited for."""
IN_FLIGHT_LIMIT = 100_000
"""At most this many messages are read back at a start (the rest are not held in order)."""


class KeyOrder:
    """Per key, the NACKed messages not yet handled, each with when it is due again."""

    def __init__(
        self,
        key: Callable[[str], str],
        clock: Callable[[], float] = time.monotonic,
        *,
        grace: float = GRACE_S,
    ) -> None:
        self._key = key
        self._clock = clock
        self._grace = grace
        self._held: dict[str, dict[int, tuple[float, float]]] = {}
        """Per key, per stream sequence: when it is due again, when it is given up."""

    def key_of(self, subject: str) -> str:
        """The key a message of ``subject`` is ordered by."""
        return self._key(subject)

    def deferral(self, raw: Any) -> float | None:
        """None when ``raw`` may be handled now; else how long to NACK it for (a message of
        its key that comes before it in the stream is NACKed and not yet handled). A deferred
        message is held like a NACKed one."""
        if not self._held:  # the usual case: nothing held, nothing to work out per message
            return None
        key = self._key(raw.subject)
        held = self._held.get(key)
        if not held:
            return None
        now = self._clock()
        for seq in [seq for seq, (_, given_up) in held.items() if given_up < now]:
            del held[seq]  # it never came back
        sequence = _sequence(raw)
        earlier = [due for seq, (due, _) in held.items() if seq < sequence]
        if not earlier:
            if not held:
                del self._held[key]
            return None
        delay = max(MIN_DEFER_S, max(earlier) - now + DEFER_MARGIN_S)
        held[sequence] = (now + delay, now + delay + self._grace)
        return delay

    def nacked(self, raw: Any, delay: float) -> None:
        """``raw`` was NACKed: it comes back after ``delay`` and holds back its key's later
        messages until it is handled."""
        self.presume(raw.subject, _sequence(raw), delay, grace=self._grace)

    def presume(self, subject: str, sequence: int, within: float, *, grace: float) -> None:
        """The message at ``sequence`` (on ``subject``) comes back within ``within`` seconds;
        until then, or until it is handled, its key's later messages wait (given up ``grace``
        after that)."""
        due = self._clock() + within
        self._held.setdefault(self._key(subject), {})[sequence] = (due, due + grace)

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


async def recover_in_flight(
    order: KeyOrder,
    js: JetStreamContext,
    *,
    stream: str,
    durable: str,
    subject: str,
    within: float,
    log: logging.Logger,
) -> int:
    """Presume in flight every message the durable ``durable`` delivered and has not seen
    acknowledged (between its acknowledgement floor and its last delivery), to come back
    within ``within`` (its acknowledgement wait); how many. Nothing for a new consumer."""
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        return 0
    if not info.num_ack_pending or info.ack_floor is None or info.delivered is None:
        return 0
    floor, last = info.ack_floor.stream_seq or 0, info.delivered.stream_seq or 0
    below = min(last + 1, floor + 1 + IN_FLIGHT_LIMIT)
    messages = await stored_messages(
        js, stream, subject, from_sequence=floor + 1, below_sequence=below
    )
    for message in messages:
        sequence = message.metadata.sequence.stream
        order.presume(message.subject, sequence, within, grace=IN_FLIGHT_GRACE_S)
    log.info(
        "%d messages of %s may still be in flight from before (sequences %d-%d): their keys'"
        " later messages wait for them, at most %.0fs",
        len(messages),
        durable,
        floor + 1,
        below - 1,
        within,
    )
    return len(messages)


def _sequence(raw: Any) -> int:
    found = message_key(raw)
    if found is None:
        raise ValueError("a message kept in order must come from a JetStream stream")
    return found[1]
