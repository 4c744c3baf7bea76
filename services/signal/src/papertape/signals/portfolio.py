"""The portfolio, as the signal service talks to it: orders (request-reply) and account summaries.

An order is sent with its own id as the request id, so asking again (after a restart, or when
portfolio was unavailable) decides nothing new: portfolio answers a repeat with no events, which
means it decided the order before (placed, as far as the session can tell; see the README).
An unavailable portfolio (no responder, a timeout, ``unavailable``) raises ``PortfolioAway``:
the order stays asked for and is sent again; every other answer is final.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.common.telemetry.tracing import inject_headers, trace_fields
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import OrderRejected, PlaceOrder
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.orders import OrderSource, OrderType
from papertape.contract.events.portfolio import CommandResult, GetAccountSummary
from papertape.contract.events.reports import AccountSummary
from papertape.contract.events.sessions import (
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
)
from papertape.contract.ids import AccountId, Actor, CausationId, CorrelationId
from papertape.contract.subjects import Subjects
from papertape.trading.strategies.sizing import AccountRoom

ACTOR = Actor("signals")
command_replies: Codec[Reply[CommandResult]] = Codec(Reply[CommandResult])
summary_replies: Codec[Reply[AccountSummary]] = Codec(Reply[AccountSummary])


class PortfolioAway(Exception):
    """Portfolio did not answer (or answered ``unavailable``): ask again later."""


def room_of(summary: AccountSummary) -> AccountRoom:
    """What the account allows an order, from its summary."""
    return AccountRoom(
        equity=summary.equity,
        buying_power=summary.buying_power,
        max_position_pct=summary.limits.max_position_pct,
        max_risk_per_trade_pct=summary.limits.max_risk_per_trade_pct,
    )


def place_order_of(order: SessionOrderRequested) -> PlaceOrder:
    """The PlaceOrder a session's order request stands for (source ``signal``)."""
    return PlaceOrder(
        account_id=order.account_id,
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        order_type=OrderType.MARKET,
        stop_loss=order.stop_loss,
        take_profit=order.take_profit,
        reduce_only=order.reduce_only,
        source=OrderSource.SIGNAL,
    )


def answer_of(
    order: SessionOrderRequested, reply: Reply[CommandResult], now: datetime
) -> SessionOrderPlaced | SessionOrderRefused:
    """Portfolio's answer to an order, as the session records it."""

    def refused(code: str, message: str) -> SessionOrderRefused:
        return SessionOrderRefused(
            session_id=order.session_id,
            ts=now,
            signal_id=order.signal_id,
            order_id=order.order_id,
            reason_code=code[:64],
            message=message[:1000],
        )

    if not reply.ok or reply.result is None:
        return refused(reply.error_code or ReplyErrorCode.INTERNAL_ERROR, reply.error or "")
    for envelope in reply.result.events:
        event = envelope.data
        if isinstance(event, OrderRejected) and event.order_id == order.order_id:
            return refused(str(event.reason_code), event.message)
    return SessionOrderPlaced(
        session_id=order.session_id, ts=now, signal_id=order.signal_id, order_id=order.order_id
    )


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
        request = Request(
            request_id=f"summary:{account_id}:{now.isoformat()}",
            issued_at=now,
            actor=ACTOR,
            body=GetAccountSummary(account_id=AccountId(account_id)),
        )
        subject = self._subjects.portfolio_query(message_name(GetAccountSummary))
        reply = summary_replies.decode(await self._request(subject, request))
        if not reply.ok:
            if reply.error_code == ReplyErrorCode.UNKNOWN_ACCOUNT:
                return None
            raise PortfolioAway(reply.error or str(reply.error_code))
        return reply.result

    async def _request(self, subject: str, request: Request[Any]) -> bytes:
        try:
            msg = await self._nc.request(
                subject, encode(request), timeout=self._timeout, headers=inject_headers()
            )
        except (NoRespondersError, NatsTimeout) as error:
            raise PortfolioAway(f"no answer on {subject}: {type(error).__name__}") from error
        data: bytes = msg.data
        return data
