"""One classification of failures: malformed and poison messages against a world that is away."""

from __future__ import annotations

import asyncpg
import msgspec
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from papertape.common.bus.deadletters import Unprocessable, is_malformed, is_transient


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
