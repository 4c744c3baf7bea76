"""Dead letters: a message that cannot be handled is kept with its reason, never dropped.

Malformed messages (they fail to decode) are dead-lettered at once: retrying cannot help.
Messages whose handler keeps failing are retried by JetStream (NACK with backoff) and
dead-lettered on their last allowed delivery. Transient failures (the database or NATS is
away for a while) are not the message's fault: they are retried until the world is back and
never dead-lettered (``is_transient`` decides, once, for every service).
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
from nats import errors as nats_errors
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from papertape.common.clock import Clock
from papertape.contract import codec
from papertape.contract.events.envelope import DeadLetter
from papertape.contract.subjects import Subjects

MALFORMED = "malformed"
MAX_KEPT_PAYLOAD = 64 * 1024
"""A letter keeps at most this much of its payload, so a message too large to publish (one
reason to dead-letter it) still fits on the stream with its reason."""
EXHAUSTED = "retries_exhausted"


class UnreadableAckError(nats_errors.Error):
    """JetStream answered a publish with something that is no acknowledgement (an empty status
    reply while the stream's servers elect a leader): nothing says the message was stored."""


TRANSIENT_BUS_ERRORS: tuple[type[BaseException], ...] = (
    nats_errors.TimeoutError,
    nats_errors.NoRespondersError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.ConnectionDrainingError,
    nats_errors.FlushTimeoutError,
    nats_errors.NoServersError,
    nats_errors.StaleConnectionError,
    nats_errors.OutboundBufferLimitError,
    ServiceUnavailableError,
    # A clustered stream whose leader died answers nothing until its replicas elect another.
    NoStreamResponseError,
    UnreadableAckError,
)
"""NATS or JetStream is away or slow: the same request can pass in a moment."""

TRANSIENT_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: the connection broke or never was
    asyncpg.exceptions.OperatorInterventionError,  # 57: shutting down, "cannot connect now"
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # 40: serialization failure, deadlock
)
"""PostgreSQL is away, restarting or busy: the same statement can pass in a moment."""

TRANSIENT_ERRORS = (*TRANSIENT_BUS_ERRORS, *TRANSIENT_DATABASE_ERRORS, OSError)


class Unprocessable(Exception):
    """A well-formed message that can never succeed (it names an account that does not exist)."""


class ForeignReplySubject(Unprocessable):
    """A request whose reply subject is no inbox (``permissions.is_inbox``): never answered."""

    def __init__(self, reply: str) -> None:
        super().__init__(f"the reply subject {reply!r} is no inbox: only inboxes are answered")


def is_malformed(error: BaseException) -> bool:
    """True when the error says the message itself is bad (not the world around it)."""
    return isinstance(error, (*codec.DecodeError, UnicodeDecodeError, Unprocessable))


def is_transient(error: BaseException) -> bool:
    """True when the world around the message failed (database or NATS away), not the message.

    The chain of causes counts too: an adapter that wraps a refused connection is transient.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if is_malformed(current):
            return False
        if isinstance(current, TRANSIENT_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def legible(text: str) -> str:
    """``text`` with each NUL as the replacement character, as bytes that are not UTF-8 are:
    a letter is read back with the contract's codec, which refuses a NUL (a malformed message
    that carried one must still be listed)."""
    return text.replace("\x00", "\ufffd")


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
        msg_id: str | None = None,
    ) -> DeadLetter:
        """Keep the letter; ``msg_id`` makes a repeat of the same one (after a crash before
        the caller moved on) a duplicate the stream drops."""
        note = ""
        if len(payload) > MAX_KEPT_PAYLOAD:
            note = f" (payload cut to its first {MAX_KEPT_PAYLOAD} of {len(payload)} bytes)"
            payload = payload[:MAX_KEPT_PAYLOAD]
        letter = DeadLetter(
            subject=subject,
            reason=legible(f"{reason}: {error}{note}"),
            error_type=type(error).__name__,
            payload=legible(payload.decode("utf-8", errors="replace")),
            headers=dict(headers or {}),
            service=self._service,
            failed_at=self._clock.now(),
            deliveries=deliveries,
        )
        await self._js.publish(
            self._subjects.dead_letter(self._service, subject),
            codec.encode(letter),
            headers={"Nats-Msg-Id": msg_id} if msg_id else None,
        )
        return letter
