"""The gateway's WebSocket messages: what a client may send and what the server sends it.

Named as the paper-trading apps papertape replaces name them (``order_update``,
``trade_executed`` …), so their clients feel at home: the ``type`` tag is the bare snake-case
name, and each message has a schema in proto/schemas/websocket/ like every bus message.

Every message about an account's events carries the event's ``stream_version``: a client that
reconnects subscribes with ``since_version`` set to the last one it saw and gets what it missed,
in order, before anything new.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import NAME, TOKEN, Bounded, Limit, Text, UtcTime
from papertape.contract.events.account import AccountEvent, OrderFilledV2
from papertape.contract.events.base import snake
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.reports import (
    AccountSummary,
    ClosedTrade,
    OpenOrder,
    PerformanceMetrics,
    PositionView,
)
from papertape.contract.events.sessions import SessionEvent, SessionStatus
from papertape.contract.events.signals import Decision, Score, SignalGenerated
from papertape.contract.ids import AccountId, Symbol

AccountKey = Annotated[AccountId, TOKEN]
SinceVersion = Annotated[int, msgspec.Meta(ge=0)]


def _name(class_name: str) -> str:
    return snake(class_name)


class Channel(enum.StrEnum):
    """What a client subscribes to: an account's channels, or the prices of a symbol."""

    ORDERS = "orders"
    FILLS = "fills"
    POSITIONS = "positions"
    ACCOUNT = "account"
    PRICES = "prices"
    SIGNALS = "signals"
    SESSIONS = "sessions"


ACCOUNT_CHANNELS = frozenset(
    {Channel.ORDERS, Channel.FILLS, Channel.POSITIONS, Channel.ACCOUNT, Channel.SIGNALS}
    | {Channel.SESSIONS}
)


class SocketMessage(Bounded, frozen=True, kw_only=True, tag_field="type", tag=_name):
    """A WebSocket message, tagged with its bare name."""


# --- the client's -----------------------------------------------------------------------------


class Subscribe(SocketMessage, frozen=True, kw_only=True):
    """Follow a channel: an account's (``account_id``) or a symbol's prices (``symbol``)."""

    channel: Channel
    account_id: AccountKey | None = None
    symbol: Annotated[Symbol, NAME] | None = None
    since_version: SinceVersion | None = None
    """The last stream version seen: the events after it are sent first (a reconnect)."""


class Unsubscribe(SocketMessage, frozen=True, kw_only=True):
    """Stop following a channel."""

    channel: Channel
    account_id: AccountKey | None = None
    symbol: Annotated[Symbol, NAME] | None = None


class RequestPortfolioUpdate(SocketMessage, frozen=True, kw_only=True):
    """Ask for the account's summary now (answered with ``portfolio_update``)."""

    account_id: AccountKey


class RequestTradeHistory(SocketMessage, frozen=True, kw_only=True):
    """Ask for the latest closed trades (answered with ``trade_history``)."""

    account_id: AccountKey
    limit: Limit = 50


class RequestOpenPositions(SocketMessage, frozen=True, kw_only=True):
    """Ask for the open positions (answered with ``open_positions``)."""

    account_id: AccountKey


class RequestPerformanceMetrics(SocketMessage, frozen=True, kw_only=True):
    """Ask for the performance metrics (answered with ``performance_update``)."""

    account_id: AccountKey


class Ping(SocketMessage, frozen=True, kw_only=True):
    """Are you there? (answered with ``pong``)."""

    nonce: Text = ""


ClientMessage = (
    Subscribe
    | Unsubscribe
    | RequestPortfolioUpdate
    | RequestTradeHistory
    | RequestOpenPositions
    | RequestPerformanceMetrics
    | Ping
)


# --- the server's -----------------------------------------------------------------------------


class ConnectionConfirmed(SocketMessage, frozen=True, kw_only=True):
    """The key was accepted: who the connection is, and what it may follow."""

    connection_id: str
    account_id: AccountId | None
    """The key's account (None: an operator's key, for every account)."""
    scopes: tuple[str, ...]
    server_time: UtcTime
    buffer: int
    """Messages the server holds for a slow client before it disconnects it."""


class Subscribed(SocketMessage, frozen=True, kw_only=True):
    """A subscription is in place (after the missed events, when ``since_version`` was set)."""

    channel: Channel
    account_id: AccountId | None = None
    symbol: Symbol | None = None
    version: int | None = None
    """The account's stream version at subscription."""


class Unsubscribed(SocketMessage, frozen=True, kw_only=True):
    """A subscription is gone."""

    channel: Channel
    account_id: AccountId | None = None
    symbol: Symbol | None = None


class InitialSnapshot(SocketMessage, frozen=True, kw_only=True):
    """The account as it is, sent when its ``account`` channel is subscribed."""

    account_id: AccountId
    summary: AccountSummary
    positions: list[PositionView]
    open_orders: list[OpenOrder]
    recent_trades: list[ClosedTrade]


class AccountEventMessage(SocketMessage, frozen=True, kw_only=True):
    """An account event as a socket message: its stream version orders the account's messages."""

    account_id: AccountId
    stream_version: int
    position: int | None = None
    """The event's place in the whole log."""
    occurred_at: UtcTime


class PortfolioUpdate(AccountEventMessage, frozen=True, kw_only=True):
    """Cash or the account's state changed (``event``), or its summary was asked for."""

    event: AccountEvent | None = None
    summary: AccountSummary | None = None


class OrderUpdate(AccountEventMessage, frozen=True, kw_only=True):
    """An order was placed, rejected, triggered, cancelled or expired."""

    event: AccountEvent


class TradeExecuted(AccountEventMessage, frozen=True, kw_only=True):
    """A fill."""

    event: OrderFilledV2


class PositionUpdated(AccountEventMessage, frozen=True, kw_only=True):
    """A position changed (a fill, a mark, a close)."""

    symbol: Symbol
    quantity: Decimal | None = None
    """The position's quantity after the event (None: a new mark, the quantity is unchanged)."""
    event: AccountEvent


class TradeClosed(SocketMessage, frozen=True, kw_only=True):
    """A round trip (or a leg of one) closed, with its P&L and exit reason."""

    account_id: AccountId
    stream_version: int
    trade: ClosedTrade


class SessionMessage(SocketMessage, frozen=True, kw_only=True):
    """A bot session's event as a socket message, for the account the session trades.

    ``stream_version`` is the session's own (``session-<id>``): it orders one session's messages.
    The ``signals`` and ``sessions`` channels are live (``since_version`` replays nothing there).
    """

    account_id: AccountId
    session_id: str
    stream_version: int
    occurred_at: UtcTime


class AiThought(SessionMessage, frozen=True, kw_only=True):
    """What a session's strategy decided on a bar and why (every decision, HOLD and SKIP too)."""

    strategy: str
    symbol: Symbol
    decision: Decision
    confidence: Score
    risk_score: Score
    opportunity_score: Score
    reasoning: str
    key_factors: tuple[str, ...] = ()
    signal: SignalGenerated


class SignalAlert(SessionMessage, frozen=True, kw_only=True):
    """An actionable decision (one that opens, closes or reduces a position), with its levels."""

    strategy: str
    symbol: Symbol
    decision: Decision
    confidence: Score
    entry: Decimal | None = None
    stop: Decimal | None = None
    targets: tuple[Decimal, ...] = ()
    signal: SignalGenerated


class SessionUpdate(SessionMessage, frozen=True, kw_only=True):
    """A session's status changed: started, paused, resumed or stopped (``event`` says how)."""

    status: SessionStatus
    event: SessionEvent


class TradeHistory(SocketMessage, frozen=True, kw_only=True):
    """The answer to ``request_trade_history``."""

    account_id: AccountId
    trades: list[ClosedTrade]


class OpenPositions(SocketMessage, frozen=True, kw_only=True):
    """The answer to ``request_open_positions``."""

    account_id: AccountId
    positions: list[PositionView]


class PerformanceUpdate(SocketMessage, frozen=True, kw_only=True):
    """The account's performance metrics."""

    account_id: AccountId
    metrics: PerformanceMetrics


class PriceUpdate(SocketMessage, frozen=True, kw_only=True):
    """A quote of a subscribed symbol."""

    symbol: Symbol
    quote: QuoteReceived


class Pong(SocketMessage, frozen=True, kw_only=True):
    """The answer to ``ping``."""

    nonce: str = ""
    server_time: UtcTime


class SocketError(SocketMessage, frozen=True, kw_only=True, tag="error"):
    """A request was refused (``field`` names what was wrong); the connection stays open
    unless ``fatal``."""

    code: str
    message: str
    field: str | None = None
    fatal: bool = False


ServerMessage = (
    ConnectionConfirmed
    | Subscribed
    | Unsubscribed
    | InitialSnapshot
    | PortfolioUpdate
    | OrderUpdate
    | TradeExecuted
    | PositionUpdated
    | TradeClosed
    | AiThought
    | SignalAlert
    | SessionUpdate
    | TradeHistory
    | OpenPositions
    | PerformanceUpdate
    | PriceUpdate
    | Pong
    | SocketError
)

SOCKET_TYPES: tuple[type[SocketMessage], ...] = (
    Subscribe,
    Unsubscribe,
    RequestPortfolioUpdate,
    RequestTradeHistory,
    RequestOpenPositions,
    RequestPerformanceMetrics,
    Ping,
    ConnectionConfirmed,
    Subscribed,
    Unsubscribed,
    InitialSnapshot,
    PortfolioUpdate,
    OrderUpdate,
    TradeExecuted,
    PositionUpdated,
    TradeClosed,
    AiThought,
    SignalAlert,
    SessionUpdate,
    TradeHistory,
    OpenPositions,
    PerformanceUpdate,
    PriceUpdate,
    Pong,
    SocketError,
)
"""Every WebSocket message type (each has a schema in proto/schemas/websocket/)."""


def socket_tag(cls: type[SocketMessage]) -> str:
    """The ``type`` a socket message carries."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag
