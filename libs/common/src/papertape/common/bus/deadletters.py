"""Dead letters: a message that cannot be handled is kept with its reason, never dropped.

Malformed messages (they fail to decode) are dead-lettered at once: retrying cannot help.
Messages whose handler keeps failing are retried by JetStream (NACK with backoff) and
dead-lettered on their last allowed delivery.
"""

from __future__ import annotations

from collections.abc import Mapping

from nats.js import JetStreamContext

from papertape.common.clock import Clock
from papertape.contract import codec
from papertape.contract.events.envelope import DeadLetter
from papertape.contract.subjects import Subjects

MALFORMED = "malformed"
EXHAUSTED = "retries_exhausted"


class Unprocessable(Exception):
    """A well-formed message that can never succeed (it names an account that does not exist)."""


def is_malformed(error: BaseException) -> bool:
    """True when the error says the message itself is bad (not the world around it)."""
    return isinstance(error, (*codec.DecodeError, UnicodeDecodeError, Unprocessable))


class DeadLetterBox:
    """Publishes dead letters of one service to ``dlq.<service>.<original subject>``."""

    def __init__(
        self, js: JetStreamContext, subjects: Subjects, service: str, clock: Clock
    ) -> None:
        self._js = js
        self._subjects = subjects
        self._service = service
        self._clock = clock

    async def put(
        self,
        *,
        subject: str,
        payload: bytes,
        error: BaseException,
        reason: str,
        headers: Mapping[str, str] | None = None,
        deliveries: int = 1,
    ) -> DeadLetter:
        letter = DeadLetter(
            subject=subject,
            reason=f"{reason}: {error}",
            error_type=type(error).__name__,
            payload=payload.decode("utf-8", errors="replace"),
            headers=dict(headers or {}),
            service=self._service,
            failed_at=self._clock.now(),
            deliveries=deliveries,
        )
        await self._js.publish(
            self._subjects.dead_letter(self._service, subject),
            codec.encode(letter),
        )
        return letter
