"""The DEADLETTER stream, read for the operator: the newest letters, with their reasons.

Every service keeps what it could not handle on ``dlq.<service>.<original subject>`` (see
``papertape.common.bus.deadletters``). The gateway reads them by sequence, newest first, with
JetStream's message-get API (a service login may read any stream), and never changes the stream.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from papertape.contract.codec import Codec
from papertape.contract.events.envelope import DeadLetter

PAYLOAD_SHOWN = 4096
"""Characters of a letter's payload in the answer (the stream keeps up to 64 KiB)."""
SCAN = 5000
"""How many of the newest letters one answer looks through for those of a service."""

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
    """The newest letters (of one service, or of every one), and how many the stream holds."""

    letters: list[DeadLetterView]
    stored: int


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
    js: JetStreamContext, stream: str, *, service: str | None, limit: int
) -> DeadLetterPage:
    """Up to ``limit`` letters, newest first (``service``: only that service's)."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return DeadLetterPage(letters=[], stored=0)
    state = info.state
    letters: list[DeadLetterView] = []
    sequence = state.last_seq
    lowest = max(state.first_seq, state.last_seq - SCAN + 1, 1)
    while sequence >= lowest and len(letters) < limit:
        current, sequence = sequence, sequence - 1
        try:
            raw = await js.get_msg(stream, current)
        except NotFoundError:  # removed by the stream's limits since the info was read
            continue
        try:
            letter = _letters.decode(raw.data or b"")
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue  # not a letter (the stream takes any dlq.> publish): nothing to show
        if service is None or letter.service == service:
            letters.append(_view(current, letter))
    return DeadLetterPage(letters=letters, stored=state.messages)
