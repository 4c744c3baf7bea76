"""Session commands and the settings they carry: trading mode, risk, sizing, stops."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import (
    NAME,
    Bound,
    Bounded,
    Percent,
    Quantity,
    Ratio,
    Text,
    check_each,
)
from papertape.contract.events.account import AccountRef
from papertape.contract.events.base import Command
from papertape.contract.events.market import Timeframe
from papertape.contract.events.signals import (
    Score,
    SessionRef,
    StrategyName,
)
from papertape.contract.ids import Symbol

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


SessionCommand = StartSession | PauseSession | ResumeSession | StopSession
