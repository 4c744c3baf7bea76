"""Bot sessions: a strategy trading a paper account, as an event-sourced stream of its own.

A session's stream (``session-<id>`` in the event log) holds its lifecycle (started, paused,
resumed, stopped), the signals its strategy left on every bar (``contract.events.signals``),
the orders it asked portfolio for and portfolio's answers, and the fills of those orders. The
signal service answers the commands and queries below on ``signals.command`` and
``signals.query.<name>``; session events are published on ``session.<id>.<event>`` (SIGNALS).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from papertape.contract.bounds import (
    NAME,
    Bound,
    Bounded,
    Finite,
    Limit,
    Percent,
    Price,
    Quantity,
    Ratio,
    Text,
    UtcTime,
    check_each,
)
from papertape.contract.events.account import AccountRef
from papertape.contract.events.base import Command, Event, Query
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.reports import Report
from papertape.contract.events.signals import (
    ConfidenceLevel,
    Decision,
    Score,
    SessionRef,
    SignalGenerated,
    SignalRef,
    StrategyName,
)
from papertape.contract.ids import AccountId, OrderId, Symbol

SESSION_STREAM_PREFIX = "session-"
"""Every bot session's event-log stream id starts with this."""


def session_stream(session_id: str) -> str:
    """The event-log stream that holds a bot session."""
    return f"{SESSION_STREAM_PREFIX}{session_id}"


ParameterValue = int | bool | Annotated[str, msgspec.Meta(max_length=100)]
"""A strategy parameter as it travels: decimals as strings (the strategy's struct parses them)."""
Parameters = Annotated[
    dict[Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")], ParameterValue],
    msgspec.Meta(max_length=64),
]
Symbols = Annotated[
    tuple[Annotated[Symbol, NAME], ...], msgspec.Meta(min_length=1, max_length=1000)
]
Positions = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=525_600)]
TARGET_R = Bound(low=Decimal(0), high=Decimal(10), low_open=True, places=None)
"""A target as a multiple of the stop distance: 0 < r <= 10."""


class TradingMode(enum.StrEnum):
    """Presets of risk per trade, minimum confidence, open positions and default stop/targets."""

    CONSERVATIVE = "CONSERVATIVE"
    BALANCED = "BALANCED"
    AGGRESSIVE = "AGGRESSIVE"
    SCALPER = "SCALPER"
    SWING = "SWING"


class SessionStatus(enum.StrEnum):
    """Where a session is in its life."""

    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    """Its runtime limit ended."""
    ERROR = "ERROR"


class StopKind(enum.StrEnum):
    """How a strategy sets its stop: a multiple of the ATR, or a percentage of the entry."""

    ATR = "atr"
    PERCENT = "percent"


class Sizing(enum.StrEnum):
    """How an order's quantity is chosen (papertape.trading.strategies.sizing)."""

    RISK = "risk"
    """Risk % of equity over the stop distance."""
    CONFIDENCE = "confidence"
    """As ``risk``, scaled by the signal's confidence / 100."""
    FIXED_FRACTION = "fixed_fraction"
    """A fixed % of equity in notional."""
    FIXED_QUANTITY = "fixed_quantity"


class RiskSettings(Bounded, frozen=True, kw_only=True):
    """What a trading mode presets (every value may be overridden at start)."""

    risk_per_trade_pct: Percent
    min_confidence: Score
    max_open_positions: Positions
    stop_kind: StopKind = StopKind.ATR
    stop_value: Ratio
    """The ATR multiple, or the percentage of the entry (0-10)."""
    target_r: Annotated[tuple[Ratio, ...], msgspec.Meta(min_length=1, max_length=2)]
    """Targets as multiples of the stop distance (reward-to-risk), one or two."""
    sizing: Sizing = Sizing.CONFIDENCE
    fraction_pct: Percent = Decimal(10)
    """For ``fixed_fraction``: the notional as % of equity."""
    quantity: Quantity = Decimal(1)
    """For ``fixed_quantity``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_each("target_r", self.target_r, TARGET_R)


class RiskOverrides(Bounded, frozen=True, kw_only=True, omit_defaults=True):
    """Values that replace a mode's preset (None: keep the preset)."""

    risk_per_trade_pct: Percent | None = None
    min_confidence: Score | None = None
    max_open_positions: Positions | None = None
    stop_kind: StopKind | None = None
    stop_value: Ratio | None = None
    target_r: Annotated[tuple[Ratio, ...], msgspec.Meta(min_length=1, max_length=2)] | None = None
    sizing: Sizing | None = None
    fraction_pct: Percent | None = None
    quantity: Quantity | None = None


# --- commands ------------------------------------------------------------------------------


class SessionCommandBase(Command, frozen=True, kw_only=True):
    """A command addressed to one bot session."""

    session_id: SessionRef


class StartSession(SessionCommandBase, frozen=True, kw_only=True):
    """Start a bot: a strategy with parameters on symbols of one timeframe, for an account."""

    account_id: AccountRef
    strategy: StrategyName
    parameters: Parameters = {}
    symbols: Symbols
    timeframe: Timeframe = Timeframe.M1
    mode: TradingMode = TradingMode.BALANCED
    overrides: RiskOverrides = RiskOverrides()
    runtime_minutes: Minutes | None = None
    auto_execute: bool = True


class PauseSession(SessionCommandBase, frozen=True, kw_only=True):
    """Keep evaluating and recording signals, but place no orders."""

    reason: Text = ""


class ResumeSession(SessionCommandBase, frozen=True, kw_only=True):
    """Place orders again."""


class StopSession(SessionCommandBase, frozen=True, kw_only=True):
    """End the session for good, with a reason."""

    reason: Text = ""


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
SessionCommand = StartSession | PauseSession | ResumeSession | StopSession


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
