"""Strategy signals: what a strategy decided on a bar and why, and how the decision turned out.

A signal is kept in its bot session's stream in the event log (``session-<id>``) and published
on ``signal.<strategy>.<SYM>`` (stream SIGNALS) with its ``signal_id`` as ``Nats-Msg-Id``.
Every bar a strategy evaluates leaves one, including the ones that decide nothing (HOLD, SKIP),
so a person can read why a bot did or did not trade. Prices are quantized to the instrument's
tick, indicator values to ``INDICATOR_PLACES`` decimal places, scores are whole numbers.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from papertape.contract.bounds import (
    EARLIEST,
    FINITE,
    LATEST,
    NAME,
    NON_NEGATIVE,
    TOKEN,
    Bounded,
    Finite,
    Price,
    Text,
    UtcTime,
    check_each,
)
from papertape.contract.events.base import Event
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.ids import AccountId, Symbol

_FINITE_LOW, _FINITE_HIGH = FINITE.low, FINITE.high  # FINITE: any sign, no places, -0 allowed

INDICATOR_PLACES = 8
"""Decimal places of an indicator value in a signal."""

Score = Annotated[int, msgspec.Meta(ge=0, le=100)]
"""A confidence, risk or opportunity score: 0-100."""
StrategyName = Annotated[str, TOKEN]
SessionRef = Annotated[str, TOKEN]
"""A bot session's id: it becomes a stream id and a subject token."""
SignalRef = Annotated[str, NAME]
Factor = Annotated[str, msgspec.Meta(max_length=200)]


class Decision(enum.StrEnum):
    """What a strategy decided on a bar."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
    """Nothing to do: no setup, or a position is held and nothing changed."""
    SKIP = "SKIP"
    """A setup was there but is not taken (warming up, no stop distance, paused session …)."""
    CLOSE = "CLOSE"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"

    @property
    def opens(self) -> bool:
        """BUY and SELL open (or reverse) a position."""
        return self in _OPENING  # a set: each ``Decision.X`` lookup is slow on 3.11

    @property
    def closes(self) -> bool:
        """CLOSE, STOP_LOSS and TAKE_PROFIT close or reduce a position."""
        return self in _CLOSING


_OPENING = frozenset({Decision.BUY, Decision.SELL})
_CLOSING = frozenset({Decision.CLOSE, Decision.STOP_LOSS, Decision.TAKE_PROFIT})


class ConfidenceLevel(enum.StrEnum):
    """A confidence score in words (thresholds: papertape.trading.strategies.confidence)."""

    VERY_LOW = "VERY_LOW"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    VERY_HIGH = "VERY_HIGH"


class Outcome(enum.StrEnum):
    """How an actionable signal turned out against the bars that followed it."""

    TARGET_FIRST = "target_first"
    STOP_FIRST = "stop_first"
    NEITHER = "neither"


# gc=False here and on SignalGenerated and BarClosed: frozen structs of immutable values cannot
# form a cycle, and the signal service keeps its latest 100,000 signals, which the cyclic
# collector otherwise walked on every collection (about 10% of the bar path).
class IndicatorValue(Bounded, frozen=True, kw_only=True, gc=False):
    """One indicator's value as the strategy saw it."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: Finite

    def __post_init__(self) -> None:
        # The generic check of Bounded, written out for the one field: a signal carries many.
        value = self.value
        if not (value.is_finite() and _FINITE_LOW <= value <= _FINITE_HIGH):  # FINITE.accepts
            raise ValueError(f"value {FINITE.problem(value)}")


class SignalGenerated(Event, frozen=True, kw_only=True, gc=False):
    """A strategy evaluated a bar: its decision, how sure it is, the levels and the reasons."""

    signal_id: SignalRef
    session_id: SessionRef
    account_id: AccountId
    strategy: StrategyName
    params_hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16}$")]
    symbol: Annotated[Symbol, NAME]
    timeframe: Timeframe
    bar: BarClosed
    decision: Decision
    confidence: Score
    level: ConfidenceLevel
    risk_score: Score
    opportunity_score: Score
    entry: Price | None = None
    stop: Price | None = None
    targets: Annotated[tuple[Price, ...], msgspec.Meta(max_length=2)] = ()
    reward_risk: Finite | None = None
    """Distance to the first target over the distance to the stop."""
    reasoning: Text
    factors: Annotated[tuple[Factor, ...], msgspec.Meta(max_length=16)] = ()
    indicators: Annotated[tuple[IndicatorValue, ...], msgspec.Meta(max_length=32)] = ()
    ts: UtcTime
    """The bar's end: when the signal could first have been acted on."""

    def __post_init__(self) -> None:
        # Most signals (HOLD, SKIP) have no levels: Bounded's checks then come to the time's,
        # written out here (a signal is built per bar and session; a test holds the fields
        # these checks cover to Bounded's). Anything else, or a bad time, takes the full path.
        if self.entry is None and self.stop is None and self.reward_risk is None:
            ts = self.ts
            if not self.targets and ts.tzinfo is not None and EARLIEST <= ts < LATEST:
                return
        super().__post_init__()
        check_each("targets", self.targets, NON_NEGATIVE)


class SignalOutcomeRecorded(Event, frozen=True, kw_only=True):
    """An actionable signal scored against the market: target first, stop first or neither."""

    signal_id: SignalRef
    session_id: SessionRef
    strategy: StrategyName
    symbol: Annotated[Symbol, NAME]
    decision: Decision
    confidence: Score
    level: ConfidenceLevel
    outcome: Outcome
    bars: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    """Bars after the signal until the outcome (the horizon when neither was reached)."""
    exit_price: Price | None = None
    ts: UtcTime


SignalEvent = SignalGenerated | SignalOutcomeRecorded
