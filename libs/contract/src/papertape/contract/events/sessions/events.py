"""Session events: the stream's lifecycle, its orders and fills, its warm-up."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import (
    NAME,
    Finite,
    Price,
    Quantity,
    Text,
    UtcTime,
)
from papertape.contract.events.base import Event
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions.commands import (
    Minutes,
    Parameters,
    RiskSettings,
    SessionStatus,
    Symbols,
    TradingMode,
)
from papertape.contract.events.signals import (
    Decision,
    SessionRef,
    SignalRef,
    StrategyName,
)
from papertape.contract.ids import AccountId, OrderId, Symbol

# --- events --------------------------------------------------------------------------------


class SessionEventBase(Event, frozen=True, kw_only=True):
    """Something that happened to one bot session, at ``ts``, of the account it trades.

    ``account_id`` lets a subscriber (the gateway's sockets, notification) route any of the
    session's events without keeping a map of session to account; it is None in events recorded
    before it was carried (the subscriber then falls back to its map)."""

    session_id: SessionRef
    ts: UtcTime
    account_id: AccountId | None = None


class SessionStarted(SessionEventBase, frozen=True, kw_only=True):
    """A session began, with everything it was configured with (the mode already applied)."""

    account_id: AccountId
    strategy: StrategyName
    parameters: Parameters = {}
    params_hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16}$")]
    symbols: Symbols
    timeframe: Timeframe
    mode: TradingMode
    risk: RiskSettings
    runtime_minutes: Minutes | None = None
    auto_execute: bool = True


class SessionRefused(SessionEventBase, frozen=True, kw_only=True):
    """A session command was refused (``command`` is its wire name); nothing changed."""

    command: str
    reason_code: Annotated[str, msgspec.Meta(max_length=64)]
    message: Text


class SessionPaused(SessionEventBase, frozen=True, kw_only=True):
    """The session stopped placing orders (it still records signals)."""

    reason: Text = ""


class SessionResumed(SessionEventBase, frozen=True, kw_only=True):
    """The session places orders again."""


class SessionStopped(SessionEventBase, frozen=True, kw_only=True):
    """The session ended: stopped by hand, its runtime ended, its account halted, or an error."""

    status: SessionStatus
    reason: Text = ""
    error: Text = ""


class SessionOrderRequested(SessionEventBase, frozen=True, kw_only=True):
    """The session asks portfolio for an order; ``order_id`` is derived from the signal."""

    signal_id: SignalRef
    order_id: Annotated[OrderId, NAME]
    account_id: AccountId
    symbol: Annotated[Symbol, NAME]
    side: OrderSide
    quantity: Quantity
    decision: Decision
    stop_loss: Price | None = None
    take_profit: Price | None = None
    reduce_only: bool = False


class SessionOrderPlaced(SessionEventBase, frozen=True, kw_only=True):
    """Portfolio accepted the session's order."""

    signal_id: SignalRef
    order_id: Annotated[OrderId, NAME]


class SessionOrderRefused(SessionEventBase, frozen=True, kw_only=True):
    """Portfolio refused the session's order (the reason code is portfolio's); not retried."""

    signal_id: SignalRef
    order_id: Annotated[OrderId, NAME]
    reason_code: Annotated[str, msgspec.Meta(max_length=64)]
    message: Text


class SessionOrderExpired(SessionEventBase, frozen=True, kw_only=True):
    """One of the session's orders ended at the venue without filling (a resting entry the
    market never reached before its time ran out): the symbol is free to be entered again."""

    signal_id: SignalRef
    order_id: Annotated[OrderId, NAME]
    reason: Text = ""


class SessionFillRecorded(SessionEventBase, frozen=True, kw_only=True):
    """A fill of one of the session's orders (its entries and its bracket's exits)."""

    order_id: Annotated[OrderId, NAME]
    fill_id: Annotated[str, NAME]
    symbol: Annotated[Symbol, NAME]
    side: OrderSide
    price: Price
    quantity: Quantity
    fee: Finite = Decimal(0)
    realized_pnl: Finite = Decimal(0)


TRADES_SHOWN = 500
"""The most round trips a session's view lists."""
WARMUP_BARS = 500
"""The most history bars one warm-up carries (per symbol)."""


class SessionWarmedUp(SessionEventBase, frozen=True, kw_only=True):
    """A symbol's strategy was fed the market's bar history before its first live bar, so its
    indicators are ready at once (the bars are kept: a rebuilt session is fed them again)."""

    symbol: Annotated[Symbol, NAME]
    timeframe: Timeframe
    bars: Annotated[tuple[BarClosed, ...], msgspec.Meta(max_length=WARMUP_BARS)]


SessionEvent = (
    SessionStarted
    | SessionRefused
    | SessionPaused
    | SessionResumed
    | SessionStopped
    | SessionOrderRequested
    | SessionOrderPlaced
    | SessionOrderRefused
    | SessionOrderExpired
    | SessionFillRecorded
    | SessionWarmedUp
)
