"""The fan-out: one subscription per stream for the whole gateway, dispatched to sessions.

Account events are read from the subjects of the ACCOUNTS stream (``acct.>``) as the relay
publishes them, one at a time in log order, so each account's events arrive in order; quotes
from ``md.quote.*``; signals (``signal.>``) and bot sessions' events (``session.>``) from
SIGNALS, in the signal service's log order, for the account each session trades
(``sockets.bots``). A message is decoded once, looked up once in the index of followers by
topic, encoded and framed once per socket message, and the same frame is written to each
follower's connection (``sockets.frames``) or, when that connection does not take writes now,
put in the follower's bounded buffer for its own writer task: the loop never awaits.
"""

from __future__ import annotations

import asyncio

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
from papertape.contract.events.sessions import SessionEvent
from papertape.contract.events.signals import SignalEvent, SignalGenerated
from papertape.contract.ids import AccountId, Actor
from papertape.contract.sockets import (
    AccountEventMessage,
    Channel,
    PriceUpdate,
    SocketMessage,
    TradeClosed,
)
from papertape.contract.subjects import Subjects
from papertape.gateway.bus import Refused, Services, ServiceUnavailable
from papertape.gateway.metrics import GatewayMetrics
from papertape.gateway.sockets.bots import SessionAccounts, alert, thought, update
from papertape.gateway.sockets.followers import Followers, Topic
from papertape.gateway.sockets.frames import Outgoing
from papertape.gateway.sockets.messages import messages_for
from papertape.gateway.sockets.session import Session

_events: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
_quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
_signals: Codec[Envelope[SignalEvent]] = Codec(Envelope[SignalEvent])
_sessions: Codec[Envelope[SessionEvent]] = Codec(Envelope[SessionEvent])
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
        self.followers = Followers()
        self.bots = SessionAccounts(services, self._session_event)
        self._subscriptions: list[Subscription] = []
        self._closing: set[asyncio.Task[None]] = set()
        """Background work (trade_closed lookups, priming the session map), cancelled at stop."""

    async def start(self) -> None:
        nc, subjects = self.nc, self.subjects
        self._subscriptions = [
            await nc.subscribe(subjects.all_account_events(), cb=self._on_event),
            await nc.subscribe(subjects.all_quotes(), cb=self._on_quote),
            await nc.subscribe(subjects.all_signals(), cb=self._on_signal),
            await nc.subscribe(subjects.all_session_events(), cb=self._on_session),
        ]
        # After subscribing (a session started meanwhile is seen live), and in the background:
        # a signal service that is slow to answer does not hold up the gateway's start.
        priming = asyncio.create_task(self.bots.prime(), name="priming sessions")
        self._closing.add(priming)
        priming.add_done_callback(self._closing.discard)

    async def stop(self) -> None:
        self.bots.stop()
        for task in list(self._closing):
            task.cancel()
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions = []

    def join(self, session: Session) -> None:
        self.sessions.add(session)
        self.metrics.sockets.set(len(self.sessions))

    def leave(self, session: Session) -> None:
        session.leave()
        self.sessions.discard(session)
        self.metrics.sockets.set(len(self.sessions))

    def dropped(self, session: Session) -> None:
        """A session's buffer filled: it follows nothing now, and is counted."""
        self.metrics.slow_clients.inc()

    def _fan_out(self, topic: Topic, message: SocketMessage) -> None:
        """Encode once, offer the same text to every follower (a copy: a slow one leaves)."""
        sessions = self.followers.of(topic)
        if not sessions:
            return
        data = Outgoing(encode(message).decode())
        for session in tuple(sessions):
            session.offer(data)

    async def _on_event(self, msg: Msg) -> None:
        if not self.sessions:
            return
        envelope = _events.decode(msg.data)
        account_id = envelope.data.account_id
        for channel, message in messages_for(envelope):
            topic: Topic = (channel, account_id)
            sessions = self.followers.of(topic)
            if not sessions or not isinstance(message, AccountEventMessage):
                continue
            data = Outgoing(encode(message).decode())
            for session in tuple(sessions):
                session.deliver(topic, message, data)
        event = upcast(envelope.data)
        closing = isinstance(event, OrderFilledV2) and (
            event.realized_pnl or not event.position_quantity
        )
        if closing and self.followers.of((Channel.FILLS, account_id)):
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
        self._fan_out((Channel.FILLS, account_id), message)

    async def _on_quote(self, msg: Msg) -> None:
        if not self.followers.any_on(Channel.PRICES):
            return
        quote = _quotes.decode(msg.data)
        topic: Topic = (Channel.PRICES, quote.symbol)
        if self.followers.of(topic):
            self._fan_out(topic, PriceUpdate(symbol=quote.symbol, quote=quote))

    async def _on_signal(self, msg: Msg) -> None:
        envelope = _signals.decode(msg.data)
        signal = envelope.data
        if not isinstance(signal, SignalGenerated):
            return  # an outcome: calibration's business, not a decision
        self.bots.learn(signal.session_id, signal.account_id)
        if not self.followers.any_on(Channel.SIGNALS):
            return
        topic: Topic = (Channel.SIGNALS, signal.account_id)
        version, at = envelope.stream_version, envelope.occurred_at
        self._fan_out(topic, thought(signal, version, at))
        if (actionable := alert(signal, version, at)) is not None:
            self._fan_out(topic, actionable)

    async def _on_session(self, msg: Msg) -> None:
        self.bots.route(_sessions.decode(msg.data))

    def _session_event(self, envelope: Envelope[SessionEvent], account_id: AccountId) -> None:
        if (message := update(envelope, account_id)) is not None:
            self._fan_out((Channel.SESSIONS, account_id), message)
