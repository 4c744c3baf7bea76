"""One connected client: its subscriptions, its bounded buffer, its requests.

Messages for a client go into a buffer of ``ws_buffer`` messages that one task (the writer)
drains to the socket; the fan-out only ever puts an already encoded message into the buffer and
never waits on a socket. A client too slow to keep up fills its buffer: what it held is dropped,
it leaves every topic at once (the fan-out no longer sees it), and once the socket takes writes
again it gets a fatal ``error`` (``slow_client``) and close code 4008 with the reason, so it
never slows the gateway or the other clients.

A subscription with ``since_version`` is first sent the account's events after that version
(read from portfolio's activity), then what arrived live meanwhile without repeats (by stream
version), then the live stream: per account and channel, every message goes out in
stream-version order.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from litestar import WebSocket

from papertape.contract.codec import encode
from papertape.contract.events.account import AccountEvent
from papertape.contract.events.apikeys import ApiScope
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.portfolio import (
    GetAccountSummary,
    GetActivity,
    GetClosedTrades,
    GetOpenOrders,
    GetPerformance,
    GetPositions,
)
from papertape.contract.ids import AccountId, Actor
from papertape.contract.sockets import (
    ACCOUNT_CHANNELS,
    AccountEventMessage,
    Channel,
    ConnectionConfirmed,
    InitialSnapshot,
    OpenPositions,
    PerformanceUpdate,
    PortfolioUpdate,
    SocketError,
    SocketMessage,
    Subscribe,
    Subscribed,
    TradeHistory,
    Unsubscribe,
    Unsubscribed,
)
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bus import Services
from papertape.gateway.sockets.followers import Followers, Topic
from papertape.gateway.sockets.frames import Frames, Outgoing
from papertape.gateway.sockets.messages import messages_for

SLOW_CLIENT = 4008
SLOW_REASON = "too slow: buffer full"
LIVE_CHANNELS = frozenset({Channel.SIGNALS, Channel.SESSIONS})
"""Channels without a replay: their messages are not the account's events."""
_PAGE = 500


class SlowClient(Exception):
    """The client's buffer is full."""


class Session:
    """A client connected with ``key``."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        key: ApiKey,
        services: Services,
        buffer: int,
        *,
        followers: Followers | None = None,
        on_slow: Callable[[Session], None] | None = None,
        frames: Frames | None = None,
    ) -> None:
        self.socket = socket
        self.key = key
        self.services = services
        self.actor = Actor(f"gateway:{key.key_id}")
        self.id = uuid.uuid4().hex
        self.buffer = buffer
        self.queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(maxsize=buffer)
        self.frames = frames
        self._writing = False
        """The writer holds a message it has not written yet (a new one must wait behind it)."""
        self.topics: set[Topic] = set()
        self.followers = followers if followers is not None else Followers()
        self._on_slow = on_slow
        self._pending: dict[Topic, list[AccountEventMessage]] = {}
        self._last: dict[Topic, int] = {}
        self.slow = False
        self.sent = 0

    # --- out -------------------------------------------------------------------------------
    def send(self, message: SocketMessage) -> None:
        """Send or queue a message; a full buffer marks the client slow and ends its session."""
        self.offer(Outgoing(encode(message).decode()))

    def offer(self, data: Outgoing) -> None:
        """Write an encoded message (made once for every session that gets it) to the
        connection when it takes writes and nothing waits before it; else queue it."""
        if self.slow:
            return
        frames = self.frames
        if frames is not None and not self._writing and self.queue.empty() and frames.writable():
            frames.write(data)
            self.sent += 1
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.slow = True
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            self.queue.put_nowait(None)  # the writer closes the socket
            self.leave()
            if self._on_slow is not None:
                self._on_slow(self)

    async def drain(self) -> None:
        """The writer: send the buffer to the socket until the session ends."""
        while True:
            data = await self.queue.get()
            self._writing = True
            if data is None:
                error = SocketError(
                    code="slow_client",
                    message=f"{SLOW_REASON}: more than {self.buffer} messages were waiting",
                    fatal=True,
                )
                await self.socket.send_text(encode(error).decode())
                await self.socket.close(code=SLOW_CLIENT, reason=SLOW_REASON)
                return
            await self._write(data)
            self._writing = False
            self.sent += 1

    async def _write(self, data: Outgoing) -> None:
        if self.frames is not None:
            await self.frames.until_writable()
            if self.frames.writable():
                self.frames.write(data)
                return
        await self.socket.send_text(data.text)  # closed meanwhile: ASGI says how

    def follow(self, topic: Topic) -> None:
        self.topics.add(topic)
        self.followers.follow(topic, self)

    def unfollow(self, topic: Topic) -> None:
        self.topics.discard(topic)
        self.followers.unfollow(topic, self)

    def leave(self) -> None:
        """Follow nothing any more (the session ends)."""
        for topic in list(self.topics):
            self.unfollow(topic)

    def confirm(self) -> None:
        self.send(
            ConnectionConfirmed(
                connection_id=self.id,
                account_id=self.key.account_id,
                scopes=tuple(sorted(self.key.scopes)),
                server_time=datetime.now(UTC),
                buffer=self.buffer,
            )
        )

    # --- live events -------------------------------------------------------------------------
    def deliver(
        self, topic: Topic, message: AccountEventMessage, data: Outgoing | None = None
    ) -> None:
        """A live account message for a subscribed topic (held while a backfill runs);
        ``data`` is the message encoded already (once for every session)."""
        pending = self._pending.get(topic)
        if pending is not None:
            pending.append(message)
            return
        if message.stream_version <= self._last.get(topic, 0):
            return  # sent already by a backfill
        self._last[topic] = message.stream_version
        self.offer(data if data is not None else Outgoing(encode(message).decode()))

    # --- requests ----------------------------------------------------------------------------
    def allowed(
        self, account_id: str | None, *, scope: ApiScope = ApiScope.READ
    ) -> SocketError | None:
        """Why the key may not read ``account_id`` (None: it may)."""
        if not self.key.allows(scope):
            return SocketError(code="forbidden", message=f"the key lacks the {scope} scope")
        if account_id is not None and not self.key.may_reach(account_id):
            return SocketError(
                code="forbidden",
                message=f"the key is not for account {account_id}",
                field="account_id",
            )
        return None

    async def subscribe(self, request: Subscribe) -> None:
        """Start following a topic (backfilling from ``since_version`` first)."""
        if request.channel is Channel.PRICES:
            if request.symbol is None:
                self.send(
                    SocketError(
                        code="invalid_request", message="prices need a symbol", field="symbol"
                    )
                )
                return
            self.follow((Channel.PRICES, request.symbol))
            self.send(Subscribed(channel=request.channel, symbol=request.symbol))
            return
        account_id = request.account_id or self.key.account_id
        if account_id is None:
            self.send(
                SocketError(
                    code="invalid_request", message="name the account_id", field="account_id"
                )
            )
            return
        if (refusal := self.allowed(account_id)) is not None:
            self.send(refusal)
            return
        if request.channel not in ACCOUNT_CHANNELS:
            self.send(
                SocketError(code="invalid_request", message="unknown channel", field="channel")
            )
            return
        topic: Topic = (request.channel, account_id)
        self._pending[topic] = []
        self.follow(topic)
        try:
            if request.channel is Channel.ACCOUNT:
                await self._snapshot(AccountId(account_id))
            if request.since_version is not None and request.channel not in LIVE_CHANNELS:
                await self._backfill(topic, request.since_version)
        finally:
            held = self._pending.pop(topic, [])
        for message in held:
            self.deliver(topic, message)
        self.send(
            Subscribed(
                channel=request.channel,
                account_id=AccountId(account_id),
                version=self._last.get(topic),
            )
        )

    def unsubscribe(self, request: Unsubscribe) -> None:
        key = (
            request.symbol
            if request.channel is Channel.PRICES
            else (request.account_id or self.key.account_id)
        )
        if key is not None:
            self.unfollow((request.channel, key))
            self._last.pop((request.channel, key), None)
        self.send(
            Unsubscribed(
                channel=request.channel, account_id=request.account_id, symbol=request.symbol
            )
        )

    async def _snapshot(self, account_id: AccountId) -> None:
        ask = self.services.query
        summary = await ask(GetAccountSummary(account_id=account_id), self.actor)
        positions = await ask(GetPositions(account_id=account_id), self.actor)
        orders = await ask(GetOpenOrders(account_id=account_id), self.actor)
        trades = await ask(GetClosedTrades(account_id=account_id, limit=20), self.actor)
        self.send(
            InitialSnapshot(
                account_id=account_id,
                summary=summary,
                positions=positions,
                open_orders=orders,
                recent_trades=trades,
            )
        )

    async def _backfill(self, topic: Topic, since: int) -> None:
        channel, account_id = topic
        start = since + 1
        while True:
            page: list[Envelope[AccountEvent]] = await self.services.query(
                GetActivity(account_id=AccountId(account_id), from_version=start, limit=_PAGE),
                self.actor,
            )
            for envelope in page:
                for routed, message in messages_for(envelope):
                    if routed is channel and isinstance(message, AccountEventMessage):
                        self._last[topic] = message.stream_version
                        self.send(message)
            if len(page) < _PAGE:
                return
            start += _PAGE

    async def portfolio(self, account_id: AccountId) -> None:
        summary = await self.services.query(GetAccountSummary(account_id=account_id), self.actor)
        self.send(
            PortfolioUpdate(
                account_id=account_id,
                stream_version=summary.version,
                occurred_at=datetime.now(UTC),
                summary=summary,
            )
        )

    async def trades(self, account_id: AccountId, limit: int) -> None:
        trades = await self.services.query(
            GetClosedTrades(account_id=account_id, limit=limit), self.actor
        )
        self.send(TradeHistory(account_id=account_id, trades=trades))

    async def positions(self, account_id: AccountId) -> None:
        positions = await self.services.query(GetPositions(account_id=account_id), self.actor)
        self.send(OpenPositions(account_id=account_id, positions=positions))

    async def performance(self, account_id: AccountId) -> None:
        metrics = await self.services.query(GetPerformance(account_id=account_id), self.actor)
        self.send(PerformanceUpdate(account_id=account_id, metrics=metrics))
