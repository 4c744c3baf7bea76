"""The portfolio, as the signal service talks to it: orders (request-reply) and account summaries.

An order is sent with its own id as the request id, so asking again (after a restart, or when
portfolio was unavailable) decides nothing new: portfolio answers a repeat with no events, which
means it decided the order before (placed, as far as the session can tell; see the README).
An unavailable portfolio (no responder, a timeout, ``unavailable``) raises ``PortfolioAway``:
the order stays asked for and is sent again; every other answer is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.common.telemetry.tracing import inject_headers, trace_fields
from papertape.contract.codec import Codec, encode
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.portfolio import CommandResult, GetAccountSummary, GetPositions
from papertape.contract.events.reports import AccountSummary, PositionView
from papertape.contract.events.sessions import (
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
)
from papertape.contract.ids import AccountId, Actor, CausationId, CorrelationId
from papertape.contract.subjects import Subjects
from papertape.trading.strategies.requests import (
    answer_from,
    order_refused,
    place_order_of,
    room_of,
)

ACTOR = Actor("signals")
command_replies: Codec[Reply[CommandResult]] = Codec(Reply[CommandResult])
summary_replies: Codec[Reply[AccountSummary]] = Codec(Reply[AccountSummary])
position_replies: Codec[Reply[list[PositionView]]] = Codec(Reply[list[PositionView]])


@dataclass(frozen=True)
class Marks:
    """An account's marks as last read: symbol -> (mark, account currency per quote currency)."""

    at: datetime
    prices: dict[str, tuple[Decimal, Decimal]]


class PortfolioAway(Exception):
    """Portfolio did not answer (or answered ``unavailable``): ask again later."""


def answer_of(
    order: SessionOrderRequested, reply: Reply[CommandResult], now: datetime
) -> SessionOrderPlaced | SessionOrderRefused:
    """Portfolio's answer to an order, as the session records it."""
    if not reply.ok or reply.result is None:
        code = reply.error_code or ReplyErrorCode.INTERNAL_ERROR
        return order_refused(order, code, reply.error or "", now)
    return answer_from(order, [envelope.data for envelope in reply.result.events], now)


class PortfolioGateway:
    """Request-reply to the portfolio service."""

    def __init__(self, nc: Client, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self._nc = nc
        self._subjects = subjects
        self._timeout = timeout

    async def place(
        self, order: SessionOrderRequested, now: datetime
    ) -> SessionOrderPlaced | SessionOrderRefused:
        """Send the order; portfolio's answer (``PortfolioAway`` when it does not answer).

        The request carries the trace of the bar that decided it (headers and body), so the
        order's life in portfolio and execution is one trace with the signal."""
        traceparent, tracestate = trace_fields()
        request = Request(
            request_id=order.order_id,
            issued_at=now,
            actor=ACTOR,
            correlation_id=CorrelationId(order.session_id),
            causation_id=CausationId(order.signal_id),
            traceparent=traceparent,
            tracestate=tracestate,
            body=place_order_of(order),
        )
        reply = command_replies.decode(
            await self._request(self._subjects.portfolio_command(), request)
        )
        if not reply.ok and reply.error_code == ReplyErrorCode.UNAVAILABLE:
            raise PortfolioAway(reply.error or "unavailable")
        return answer_of(order, reply, now)

    async def summary(self, account_id: str, now: datetime) -> AccountSummary | None:
        """The account's summary (None when portfolio does not know the account)."""
        query = GetAccountSummary(account_id=AccountId(account_id))
        reply = summary_replies.decode(await self._query(query, now))
        if not reply.ok:
            if reply.error_code == ReplyErrorCode.UNKNOWN_ACCOUNT:
                return None
            raise PortfolioAway(reply.error or str(reply.error_code))
        return reply.result

    async def marks(self, account_id: str, now: datetime) -> Marks:
        """The account's marks (and currency rates) of the symbols it holds."""
        reply = position_replies.decode(
            await self._query(GetPositions(account_id=AccountId(account_id)), now)
        )
        if not reply.ok or reply.result is None:
            raise PortfolioAway(reply.error or str(reply.error_code))
        return Marks(at=now, prices={p.symbol: (p.mark, p.rate) for p in reply.result})

    async def _query(self, query: GetAccountSummary | GetPositions, now: datetime) -> bytes:
        name = message_name(type(query))
        request = Request(
            request_id=f"{name}:{query.account_id}:{now.isoformat()}",
            issued_at=now,
            actor=ACTOR,
            body=query,
        )
        return await self._request(self._subjects.portfolio_query(name), request)

    async def _request(self, subject: str, request: Request[Any]) -> bytes:
        try:
            msg = await self._nc.request(
                subject, encode(request), timeout=self._timeout, headers=inject_headers()
            )
        except (NoRespondersError, NatsTimeout) as error:
            raise PortfolioAway(f"no answer on {subject}: {type(error).__name__}") from error
        data: bytes = msg.data
        return data


__all__ = ["PortfolioAway", "PortfolioGateway", "answer_of", "place_order_of", "room_of"]
