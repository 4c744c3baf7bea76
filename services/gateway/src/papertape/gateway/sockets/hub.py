"""The fan-out: one subscription per stream for the whole gateway, dispatched to sessions.

Account events are read from the subjects of the ACCOUNTS stream (``acct.>``) as the relay
publishes them, one at a time in log order, so each account's events arrive in order; quotes
from ``md.quote.*``. A message is decoded once and encoded once per socket message, then
queued to each subscribed session's bounded buffer (never awaited on a socket).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.account import AccountEvent, OrderFilledV2
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.portfolio import GetClosedTrades
from papertape.contract.events.reports import ClosedTrade
from papertape.contract.ids import AccountId, Actor
from papertape.contract.sockets import AccountEventMessage, Channel, PriceUpdate, TradeClosed
from papertape.contract.subjects import Subjects
from papertape.gateway.bus import Refused, Services, ServiceUnavailable
from papertape.gateway.metrics import GatewayMetrics
from papertape.gateway.sockets.messages import messages_for
from papertape.gateway.sockets.session import Session, Topic

_events: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
_quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
_HUB = Actor("gateway:sockets")


class Hub:
    """Every connected session, and the subscriptions that feed them."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        subjects: Subjects,
        services: Services,
        metrics: GatewayMetrics,
        buffer: int,
    ) -> None:
        self.nc = nc
        self.js = js
        self.subjects = subjects
        self.services = services
        self.metrics = metrics
        self.buffer = buffer
        self.sessions: set[Session] = set()
        self._subscriptions: list[Subscription] = []
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._subscriptions = [
            await self.nc.subscribe(self.subjects.all_account_events(), cb=self._on_event),
            await self.nc.subscribe(self.subjects.all_quotes(), cb=self._on_quote),
        ]

    async def stop(self) -> None:
        for task in list(self._closing):
            task.cancel()
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions = []

    def join(self, session: Session) -> None:
        self.sessions.add(session)
        self.metrics.sockets.set(len(self.sessions))

    def leave(self, session: Session) -> None:
        self.sessions.discard(session)
        self.metrics.sockets.set(len(self.sessions))
        if session.slow:
            self.metrics.slow_clients.inc()

    def _followers(self) -> dict[Topic, list[Session]]:
        found: dict[Topic, list[Session]] = defaultdict(list)
        for session in self.sessions:
            for topic in session.topics:
                found[topic].append(session)
        return found

    async def _on_event(self, msg: Msg) -> None:
        if not self.sessions:
            return
        envelope = _events.decode(msg.data)
        account_id = envelope.data.account_id
        followers = self._followers()
        for channel, message in messages_for(envelope):
            topic: Topic = (channel, account_id)
            sessions = followers.get(topic)
            if not sessions or not isinstance(message, AccountEventMessage):
                continue
            data = encode(message).decode()
            for session in sessions:
                session.deliver(topic, message, data)
        event = upcast(envelope.data)
        closing = isinstance(event, OrderFilledV2) and (
            event.realized_pnl or not event.position_quantity
        )
        if closing and followers.get((Channel.FILLS, account_id)):
            task = asyncio.create_task(self._trade_closed(account_id, envelope.stream_version))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _trade_closed(self, account_id: str, version: int) -> None:
        """A closing fill: the round trip (leg) it closed, to the account's ``fills`` followers."""
        try:
            query = GetClosedTrades(account_id=AccountId(account_id), limit=1)
            trades: list[ClosedTrade] = await self.services.query(query, _HUB)
        except (ServiceUnavailable, Refused):
            return  # a client that must know asks with request_trade_history
        if not trades:
            return
        message = TradeClosed(
            account_id=AccountId(account_id), stream_version=version, trade=trades[-1]
        )
        data = encode(message).decode()
        for session in list(self.sessions):
            if (Channel.FILLS, account_id) in session.topics:
                session.offer(data)

    async def _on_quote(self, msg: Msg) -> None:
        if not self.sessions:
            return
        quote = _quotes.decode(msg.data)
        topic: Topic = (Channel.PRICES, quote.symbol)
        data: str | None = None
        for session in self.sessions:
            if topic in session.topics:
                data = data or encode(PriceUpdate(symbol=quote.symbol, quote=quote)).decode()
                session.offer(data)
