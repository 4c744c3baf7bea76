"""Requests to the services over NATS: the same commands and queries the command line sends.

Every request names the gateway's caller as its actor (``gateway:<key id>``). A service that
does not answer within ``timeout`` raises ``ServiceUnavailable`` (the client gets 503 with
Retry-After); an error reply or a business refusal raises ``Refused`` with the service's code.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, get_args

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from papertape.common.idgen import Uuid7Generator
from papertape.common.telemetry.subjects import subject_pattern
from papertape.common.telemetry.tracing import inject_headers
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import AccountCommand, AccountRejection
from papertape.contract.events.base import Query, message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.market import (
    BarHistory,
    GetBars,
    GetLatestQuote,
    ListInstruments,
    QuoteReceived,
)
from papertape.contract.events.notifications import (
    NOTIFICATION_QUERY_RESULTS,
    NotificationCommand,
)
from papertape.contract.events.portfolio import QUERY_RESULTS, CommandResult
from papertape.contract.events.sessions import SIGNALS_QUERY_RESULTS, SessionCommand, SessionView
from papertape.contract.ids import Actor
from papertape.contract.instruments import Instrument
from papertape.contract.subjects import Subjects
from papertape.gateway.replies import Replies

R = TypeVar("R")

PORTFOLIO = "portfolio"
MARKETDATA = "marketdata"
SIGNALS = "signals"
NOTIFICATION = "notification"
MARKET_RESULTS: dict[type[Any], Any] = {
    GetLatestQuote: QuoteReceived,
    GetBars: BarHistory,
    ListInstruments: list[Instrument],
}

_command_replies: Codec[Reply[CommandResult]] = Codec(Reply[CommandResult])
_query_replies: dict[type[Any], Codec[Reply[Any]]] = {
    # Reply[result] built at run time: the result types are values of the tables.
    query: Codec(cast(Any, Reply)[result])
    for query, result in (
        *QUERY_RESULTS.items(),
        *MARKET_RESULTS.items(),
        *SIGNALS_QUERY_RESULTS.items(),
        *NOTIFICATION_QUERY_RESULTS.items(),
    )
}
_session_replies: Codec[Reply[SessionView]] = Codec(Reply[SessionView])
REJECTIONS: tuple[type[Any], ...] = get_args(AccountRejection)


class ServiceUnavailable(Exception):
    """No service answered in time (not running, or too slow)."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"the {service} service did not answer ({detail})")
        self.service = service


class Refused(Exception):
    """A service refused a request: an error reply, or a business refusal (an event)."""

    def __init__(self, code: str, message: str, result: CommandResult | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.result = result


class Services:
    """Sends commands and queries to portfolio, market-data and the signal service."""

    def __init__(self, nc: Client, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self.nc = nc
        self.replies = Replies(nc)
        self.subjects = subjects
        self.timeout = timeout
        self.ids = Uuid7Generator()
        # Taken once the process's provider is set: a tracer taken at import is a proxy that
        # looks the provider up again on every span.
        self._tracer = trace.get_tracer("papertape.gateway")

    async def command(
        self, body: AccountCommand, actor: Actor, *, request_id: str | None = None
    ) -> CommandResult:
        """Send an account command; its result, or ``Refused`` when the account said no."""
        subject = self.subjects.portfolio_command()
        reply = await self._request(PORTFOLIO, subject, body, actor, _command_replies, request_id)
        assert reply.result is not None
        for envelope in reply.result.events:
            if isinstance(envelope.data, REJECTIONS):
                event = envelope.data
                raise Refused(str(event.reason_code), event.message, reply.result)
        return reply.result

    async def query(self, body: Query, actor: Actor) -> Any:
        """Ask portfolio a query; its result as ``QUERY_RESULTS`` names it."""
        subject = self.subjects.portfolio_query(message_name(type(body)))
        codec = _query_replies[type(body)]
        return (await self._request(PORTFOLIO, subject, body, actor, codec)).result

    async def market(self, body: Query, actor: Actor) -> Any:
        """Ask market-data a query; its result as ``MARKET_RESULTS`` names it."""
        subject = self.subjects.marketdata_query(message_name(type(body)))
        codec = _query_replies[type(body)]
        return (await self._request(MARKETDATA, subject, body, actor, codec)).result

    async def session(self, body: SessionCommand, actor: Actor) -> SessionView:
        """Send a bot session command; the session's view, or ``Refused`` with the reason."""
        subject = self.subjects.signals_command()
        reply = await self._request(SIGNALS, subject, body, actor, _session_replies)
        assert reply.result is not None
        return reply.result

    async def signals(self, body: Query, actor: Actor) -> Any:
        """Ask the signal service a query; its result as ``SIGNALS_QUERY_RESULTS`` names it."""
        subject = self.subjects.signals_query(message_name(type(body)))
        codec = _query_replies[type(body)]
        return (await self._request(SIGNALS, subject, body, actor, codec)).result

    async def notification(
        self, body: NotificationCommand | Query, actor: Actor, result: Any = None
    ) -> Any:
        """Send the notification service a command (its result decoded as ``result``) or a
        query (as ``NOTIFICATION_QUERY_RESULTS`` names it)."""
        if isinstance(body, Query):
            subject = self.subjects.notification_query(message_name(type(body)))
            codec = _query_replies[type(body)]
        else:
            subject = self.subjects.notification_command()
            codec = Codec(cast(Any, Reply)[result])
        return (await self._request(NOTIFICATION, subject, body, actor, codec)).result

    async def _request(
        self,
        service: str,
        subject: str,
        body: Any,
        actor: Actor,
        codec: Codec[Reply[R]],
        request_id: str | None = None,
    ) -> Reply[R]:
        # The request carries the trace in its headers and in its body: what the service
        # appends for it records the trace too, and so does everything that follows from it.
        with self._traced(subject):
            headers = inject_headers()
            request = Request(
                request_id=request_id or self.ids.new(),
                issued_at=datetime.now(UTC),
                actor=actor,
                traceparent=headers.get("traceparent"),
                tracestate=headers.get("tracestate"),
                body=body,
            )
            try:
                msg = await self.replies.request(
                    subject, encode(request), within=self.timeout, headers=headers
                )
            except (NoRespondersError, NatsTimeout) as error:
                raise ServiceUnavailable(service, type(error).__name__) from error
        try:
            reply = codec.decode(msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise Refused(ReplyErrorCode.INTERNAL_ERROR, f"malformed reply: {error}") from error
        if not reply.ok:
            code = reply.error_code or ReplyErrorCode.INTERNAL_ERROR
            if code == ReplyErrorCode.UNAVAILABLE:
                raise ServiceUnavailable(service, reply.error or code)
            raise Refused(code, reply.error or "")
        return reply

    def _traced(self, subject: str) -> AbstractContextManager[object]:
        """Within an HTTP request, its server span's context (that span is the request's parent
        and spans it already: a client span of its own as well cost the gateway about a tenth
        of its CPU on a placement, bench/gateway_bench.py); outside one (a socket's query), a
        client span."""
        if trace.get_current_span().get_span_context().is_valid:
            return nullcontext()
        name = f"{subject_pattern(subject, self.subjects.namespace)} request"
        return self._tracer.start_as_current_span(name, kind=SpanKind.CLIENT)
