"""The envelope every event and request travels in: identity, causality, time and trace."""

from __future__ import annotations

import enum
from typing import Annotated, Generic, TypeVar

import msgspec

from papertape.contract.bounds import NAME, Bounded, Position, UtcTime
from papertape.contract.ids import Actor, CausationId, CorrelationId, EventId, StreamId

M = TypeVar("M")
R = TypeVar("R")


class Envelope(Bounded, Generic[M], frozen=True, kw_only=True):
    """An event with its metadata; ``position`` and ``recorded_at`` are set by the log."""

    event_id: EventId
    stream_id: StreamId
    stream_version: Position
    """The event's place in its stream (0 for a report that is not kept in a stream)."""
    occurred_at: UtcTime
    correlation_id: CorrelationId
    causation_id: CausationId | None = None
    actor: Actor
    traceparent: str | None = None
    tracestate: str | None = None
    recorded_at: UtcTime | None = None
    position: Position | None = None
    data: M


class Request(Bounded, Generic[M], frozen=True, kw_only=True):
    """A command or query sent request-reply, with who asked, when and why."""

    request_id: Annotated[str, NAME]
    issued_at: UtcTime
    actor: Actor
    correlation_id: CorrelationId | None = None
    causation_id: CausationId | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    body: M


class ReplyErrorCode(enum.StrEnum):
    """Why a request got no result: the ``error_code`` of every error reply any service sends.

    Business refusals are not among them: they are events (``AccountRejection``) in a result.
    """

    MALFORMED_REQUEST = "malformed_request"
    """The request did not decode or validate (the message names the field)."""
    INTERNAL_ERROR = "internal_error"
    """The service failed while handling a valid request."""
    UNAVAILABLE = "unavailable"
    """The service cannot reach its database or the bus right now: retry the same request."""
    UNKNOWN_ACCOUNT = "unknown_account"
    """The query names an account that was never opened."""
    UNKNOWN_ORDER = "unknown_order"
    """The query names an order the account never had."""
    SERVICE_ONLY_COMMAND = "service_only_command"
    """A client sent a command only the services send (fills, triggers, expiries, marks)."""
    NO_MARKET_PRICE = "no_market_price"
    """market-data has no quote for the symbol yet."""
    NO_BAR_STORE = "no_bar_store"
    """market-data keeps no bar history (no database configured)."""


class Reply(msgspec.Struct, Generic[R], frozen=True, kw_only=True):
    """The answer to a request: a result, or an error with a machine-readable code.

    ``error_code`` is a ``ReplyErrorCode`` value; it travels as a plain string so that a client
    built before a code was added still reads the reply.
    """

    ok: bool
    result: R | None = None
    error_code: str | None = None
    error: str | None = None


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message a service could not handle, kept with the reason, never dropped."""

    subject: str
    reason: str
    error_type: str
    payload: str
    headers: dict[str, str] = {}
    service: str
    failed_at: UtcTime
    deliveries: int = 1
