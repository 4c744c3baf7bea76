"""Session queries (request-reply on ``signals.query.<name>``) and their replies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec

from papertape.contract.bounds import (
    NAME,
    Limit,
    UtcTime,
)
from papertape.contract.events.account import AccountRef
from papertape.contract.events.base import Query
from papertape.contract.events.market import Timeframe
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.reports import Report
from papertape.contract.events.sessions.commands import (
    RiskSettings,
    SessionStatus,
    TradingMode,
)
from papertape.contract.events.signals import (
    ConfidenceLevel,
    Decision,
    Score,
    SessionRef,
    SignalGenerated,
    StrategyName,
)
from papertape.contract.ids import AccountId, Symbol

# --- queries (request-reply on ``signals.query.<name>``) -------------------------------------


class ListStrategies(Query, frozen=True, kw_only=True):
    """Every built-in strategy with its parameters' JSON Schema and defaults."""


class GetSession(Query, frozen=True, kw_only=True):
    """One session's status."""

    session_id: SessionRef


class ListSessions(Query, frozen=True, kw_only=True):
    """Every session (of one account when ``account_id`` is given)."""

    account_id: AccountRef | None = None


class CompareSessions(Query, frozen=True, kw_only=True):
    """Sessions side by side: trades, win rate, P&L, drawdown, signals acted on and refused."""

    session_ids: Annotated[tuple[SessionRef, ...], msgspec.Meta(min_length=1, max_length=50)]


class GetSignals(Query, frozen=True, kw_only=True):
    """Signal history, newest first, filtered and paged."""

    session_id: SessionRef | None = None
    strategy: StrategyName | None = None
    symbol: Annotated[Symbol, NAME] | None = None
    decision: Decision | None = None
    min_confidence: Score = 0
    since: UtcTime | None = None
    until: UtcTime | None = None
    offset: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    limit: Limit = 50


class GetCalibration(Query, frozen=True, kw_only=True):
    """Per strategy: hit rate by confidence level and the Brier score of its outcomes (of the
    sessions of one account when ``account_id`` is given)."""

    strategy: StrategyName | None = None
    account_id: AccountRef | None = None


SignalsQuery = (
    ListStrategies | GetSession | ListSessions | CompareSessions | GetSignals | GetCalibration
)


# --- replies -------------------------------------------------------------------------------


class StrategyInfo(Report, frozen=True, kw_only=True):
    """A strategy: what it does, its parameters' JSON Schema and their defaults."""

    name: str
    description: str
    parameters_schema: dict[str, Any]
    defaults: dict[str, Any]


class SessionTrade(Report, frozen=True, kw_only=True):
    """One round trip of a session: from the fill that opened a position to the one that
    closed it (or, while open, its entry at the latest mark)."""

    symbol: Symbol
    side: OrderSide
    """The entry's side: BUY a long, SELL a short."""
    quantity: Decimal
    """The largest the position was."""
    entry_at: UtcTime
    entry_price: Decimal
    """The average price of the entry fills."""
    exit_at: UtcTime | None = None
    exit_price: Decimal | None = None
    """The average price of the exit fills (None while open)."""
    pnl: Decimal
    """Realized P&L of the exits less every fee of the trade, in the account's currency (while
    open: the unrealized P&L at the latest mark)."""
    exit_reason: str = ""
    """STOP_LOSS, TAKE_PROFIT (the bracket's legs), CLOSE or a reversal's SELL/BUY (the
    session's close order), "" while open, ``account`` for an exit the session did not ask for."""


class SessionView(Report, frozen=True, kw_only=True):
    """A session's status: configuration, running time, signals, orders, fills and P&L."""

    session_id: str
    account_id: AccountId
    strategy: str
    parameters: dict[str, Any]
    params_hash: str
    symbols: tuple[str, ...]
    timeframe: Timeframe
    mode: TradingMode
    risk: RiskSettings
    auto_execute: bool
    status: SessionStatus
    reason: str = ""
    error: str = ""
    started_at: UtcTime
    ended_at: UtcTime | None = None
    running_s: Decimal
    runtime_minutes: int | None = None
    signals: dict[str, int]
    """Signals by decision."""
    orders_placed: int
    orders_refused: int
    refusals: dict[str, int]
    """Refused orders by portfolio's reason code."""
    fills: int
    trades: int
    wins: int
    win_rate: Decimal = Decimal(0)
    """Wins over trades (closing fills), 0-1 (0 with none)."""
    realized_pnl: Decimal
    fees: Decimal
    max_drawdown: Decimal
    open_positions: dict[str, Decimal]
    version: int
    unrealized_pnl: Decimal = Decimal(0)
    """The session's open positions at the account's latest marks, in the account's currency."""
    total_pnl: Decimal = Decimal(0)
    """Realized (net of fees) plus unrealized P&L since the session started."""
    marked_at: UtcTime | None = None
    """When the marks the unrealized P&L is taken at were read (None: not yet)."""
    closed_trades: tuple[SessionTrade, ...] = ()
    """The session's round trips, oldest first (the latest ``TRADES_SHOWN``), then the open ones."""


class SignalPage(Report, frozen=True, kw_only=True):
    """One page of signals, newest first, and how many matched."""

    signals: tuple[SignalGenerated, ...]
    total: int
    offset: int


class LevelCalibration(Report, frozen=True, kw_only=True):
    """How the signals of one confidence level turned out."""

    level: ConfidenceLevel
    signals: int
    hits: int
    stops: int
    neither: int
    hit_rate: Decimal
    """Hits over signals with an outcome (0 with none)."""
    mean_confidence: Decimal


class CalibrationReport(Report, frozen=True, kw_only=True):
    """A strategy's calibration: does its 80% mean 80%?"""

    strategy: str
    scored: int
    brier: Decimal | None
    """Mean of (confidence / 100 - hit)^2 over scored signals (None with none); 0 is perfect."""
    levels: tuple[LevelCalibration, ...]


SIGNALS_QUERY_RESULTS: dict[type[Any], Any] = {
    ListStrategies: list[StrategyInfo],
    GetSession: SessionView,
    ListSessions: list[SessionView],
    CompareSessions: list[SessionView],
    GetSignals: SignalPage,
    GetCalibration: list[CalibrationReport],
}
"""What each query's reply carries in ``Reply.result``; session commands answer a SessionView."""

SESSION_REPLY_PAYLOADS: tuple[type[Report], ...] = (
    StrategyInfo,
    SessionView,
    SignalPage,
    LevelCalibration,
    CalibrationReport,
)
