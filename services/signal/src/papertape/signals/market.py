"""market-data, as the signal service asks it: a symbol's bar history (request-reply).

A session's strategies are warmed up with it before their first live bar. A market-data that
does not answer, keeps no bar history or has none yet gives no bars: the session then warms up
on live bars as before (and the clock asks again for a while, see ``Pipeline.warm_up``).
"""

from __future__ import annotations

from datetime import datetime

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.contract.codec import Codec, encode
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.market import BarClosed, BarHistory, GetBars, Timeframe
from papertape.contract.ids import Actor, Symbol
from papertape.contract.subjects import Subjects

ACTOR = Actor("signals")
histories: Codec[Reply[BarHistory]] = Codec(Reply[BarHistory])


class MarketGateway:
    """Request-reply to the market-data service."""

    def __init__(self, nc: Client, subjects: Subjects, *, timeout: float = 3.0) -> None:
        self._nc = nc
        self._subject = subjects.marketdata_query(message_name(GetBars))
        self._timeout = timeout

    async def bars(
        self, symbol: str, timeframe: Timeframe, end: datetime, limit: int
    ) -> tuple[BarClosed, ...]:
        """The newest ``limit`` bars that started before ``end``, oldest first (() if none)."""
        request = Request(
            request_id=f"history:{symbol}:{timeframe}:{end.isoformat()}",
            issued_at=end,
            actor=ACTOR,
            body=GetBars(symbol=Symbol(symbol), timeframe=timeframe, end=end, limit=limit),
        )
        try:
            msg = await self._nc.request(self._subject, encode(request), timeout=self._timeout)
        except (NoRespondersError, NatsTimeout):
            return ()
        reply = histories.decode(msg.data)
        if not reply.ok or reply.result is None:
            return ()
        return reply.result.bars
