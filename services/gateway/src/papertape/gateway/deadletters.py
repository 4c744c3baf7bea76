"""The DEADLETTER stream, read for the operator: the newest letters, with their reasons.

Every service keeps what it could not handle on ``dlq.<service>.<original subject>`` (see
``papertape.common.bus.deadletters``). The gateway reads a page at a time, newest first, below a
cursor (``before``; the stream's end at first): the ``WINDOW`` sequences below it, then, while
the page is not full, twice as many below those, ``READS`` times at most. Each read is one
short-lived consumer of the service's subjects (``papertape.common.bus.ranges``: a few round
trips, not a message-get per sequence). The answer carries the cursor of the next page. It
never changes the stream (a service login may read any stream).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from papertape.common.bus.ranges import stored_messages
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import DeadLetter

PAYLOAD_SHOWN = 4096
"""Characters of a letter's payload in the answer (the stream keeps up to 64 KiB)."""
WINDOW = 1000
"""Sequences of the stream a page's first read looks through (below its cursor)."""
READS = 4
"""Reads of one page at most (1,000 + 2,000 + 4,000 + 8,000 sequences)."""

_letters: Codec[DeadLetter] = Codec(DeadLetter)


class DeadLetterView(msgspec.Struct, frozen=True, kw_only=True):
    """One dead letter: where it came from, why it could not be handled, what it carried."""

    sequence: int
    service: str
    subject: str
    reason: str
    error_type: str
    failed_at: datetime
    deliveries: int
    payload: str
    """The first ``PAYLOAD_SHOWN`` characters of the message as it arrived."""
    payload_chars: int


class DeadLetterPage(msgspec.Struct, frozen=True, kw_only=True):
    """The newest letters (of one service, or of every one) below a cursor, how many the stream
    holds, and where the next (older) page begins."""

    letters: list[DeadLetterView]
    stored: int
    before: int | None = None
    """The cursor of the next page (pass it as ``before``); None: no older letters."""


def _view(sequence: int, letter: DeadLetter) -> DeadLetterView:
    return DeadLetterView(
        sequence=sequence,
        service=letter.service,
        subject=letter.subject,
        reason=letter.reason,
        error_type=letter.error_type,
        failed_at=letter.failed_at,
        deliveries=letter.deliveries,
        payload=letter.payload[:PAYLOAD_SHOWN],
        payload_chars=len(letter.payload),
    )


async def newest_letters(
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    service: str | None,
    limit: int,
    before: int | None = None,
) -> DeadLetterPage:
    """Up to ``limit`` letters on ``subject`` below sequence ``before``, newest first
    (``service``: only that service's), and the cursor of the next page."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return DeadLetterPage(letters=[], stored=0)
    state = info.state
    first = max(state.first_seq, 1)
    below = state.last_seq + 1 if before is None else min(before, state.last_seq + 1)
    found: list[DeadLetterView] = []
    window = WINDOW
    for _ in range(READS):
        if len(found) >= limit or below <= first or state.messages == 0:
            break
        low = max(first, below - window)
        stored = await stored_messages(
            js, stream, subject, from_sequence=low, below_sequence=below, batch=WINDOW
        )
        found += _letters_of(reversed(stored), service)  # each read is older than the last
        below, window = low, window * 2
    letters = found[:limit]
    if len(found) >= limit:
        cursor: int | None = letters[-1].sequence
    else:
        cursor = below if below > first else None
    return DeadLetterPage(letters=letters, stored=state.messages, before=cursor)


def _letters_of(messages: Iterable[Msg], service: str | None) -> list[DeadLetterView]:
    views = []
    for msg in messages:
        try:
            letter = _letters.decode(msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue  # not a letter (the stream takes any dlq.> publish): nothing to show
        if service is None or letter.service == service:
            views.append(_view(msg.metadata.sequence.stream, letter))
    return views
