"""One classification of failures: malformed and poison messages against a world that is away."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from papertape.common.bus.deadletters import (
    DeadLetterBox,
    Unprocessable,
    is_malformed,
    is_transient,
)
from papertape.common.clock import FakeClock
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import DeadLetter
from papertape.contract.subjects import Subjects


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        NatsTimeoutError(),
        NoRespondersError(),
    ],
)
def test_an_outage_of_the_database_or_the_bus_is_transient(error: Exception) -> None:
    assert is_transient(error)
    assert not is_malformed(error)


def test_a_wrapped_refused_connection_is_transient() -> None:
    error = RuntimeError("append failed")
    error.__cause__ = ConnectionRefusedError(111, "Connect call failed")

    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("the book is broken"),
        KeyError("symbol"),
        Unprocessable("no such account"),
        msgspec.ValidationError("Expected `str`"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
)
def test_a_message_that_can_never_succeed_is_not_transient(error: Exception) -> None:
    assert not is_transient(error)


async def test_a_letter_for_a_message_holding_a_nul_is_kept_legible_and_decodes() -> None:
    """The contract's codec refuses a NUL, so the letter of a message that carried one (raw
    or escaped, in its bytes or its error) holds the replacement character instead: it is
    still listed, not dropped as undecodable."""
    published: list[bytes] = []

    class Publishing:
        async def publish(self, _subject: str, payload: bytes, **_: object) -> None:
            published.append(payload)

    box = DeadLetterBox(
        Publishing(),  # type: ignore[arg-type]
        Subjects(namespace="t"),
        "portfolio",
        FakeClock(datetime(2026, 1, 2, tzinfo=UTC)),
    )
    kept = await box.put(
        subject="t.portfolio.command",
        payload=b'{"order_id": "a\x00b"}',
        error=msgspec.ValidationError("Invalid value 'a\x00b'"),
        reason="malformed",
    )
    assert "\x00" not in kept.payload
    assert "\x00" not in kept.reason
    assert kept.payload == '{"order_id": "a\ufffdb"}'
    read: DeadLetter = Codec(DeadLetter).decode(published[0])
    assert read.payload == kept.payload
