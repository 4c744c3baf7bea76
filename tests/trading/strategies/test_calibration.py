"""Calibration: outcomes of actionable signals, hit rates by level, the Brier score."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.signals import (
    ConfidenceLevel,
    Decision,
    Outcome,
    SignalOutcomeRecorded,
)
from papertape.contract.ids import Symbol
from papertape.trading.strategies.api import Evaluation
from papertape.trading.strategies.calibration import Pending, outcome_on, report
from papertape.trading.strategies.confidence import level_of
from papertape.trading.strategies.signals import signal_of
from tests.trading.strategies.bars import T0, bar


def long_signal(confidence: float = 80):  # type: ignore[no-untyped-def]
    evaluation = Evaluation(
        Decision.BUY, confidence, "test", (), (), entry=100.0, stop=98.0, targets=(104.0,)
    )
    return signal_of(
        evaluation, bar(100, 0), session_id="s", account_id="a", strategy="x", params_hash="0" * 16
    )


def test_target_first_stop_first_and_neither() -> None:
    signal = long_signal()
    assert outcome_on(Pending(signal), bar(101, 1), horizon=3) is None
    hit = outcome_on(Pending(signal), bar(104, 1, high=104.5, low=103), horizon=3)
    assert hit is not None
    assert hit.outcome is Outcome.TARGET_FIRST
    assert hit.exit_price == Decimal("104.00")
    stop = outcome_on(Pending(signal, bars=1), bar(97, 2, low=97), horizon=3)
    assert stop is not None
    assert (stop.outcome, stop.bars) == (Outcome.STOP_FIRST, 2)
    both = outcome_on(Pending(signal), bar(100, 1, high=105, low=97), horizon=3)
    assert both is not None
    assert both.outcome is Outcome.STOP_FIRST  # a bar hides its order: the stop counts first
    late = outcome_on(Pending(signal, bars=2), bar(101, 3), horizon=3)
    assert late is not None
    assert late.outcome is Outcome.NEITHER


def test_levels_have_stated_thresholds() -> None:
    assert [level_of(c) for c in (0, 19, 20, 39, 40, 59, 60, 79, 80, 100)] == [
        ConfidenceLevel.VERY_LOW,
        ConfidenceLevel.VERY_LOW,
        ConfidenceLevel.LOW,
        ConfidenceLevel.LOW,
        ConfidenceLevel.MEDIUM,
        ConfidenceLevel.MEDIUM,
        ConfidenceLevel.HIGH,
        ConfidenceLevel.HIGH,
        ConfidenceLevel.VERY_HIGH,
        ConfidenceLevel.VERY_HIGH,
    ]


def outcome(confidence: int, result: Outcome, strategy: str = "x") -> SignalOutcomeRecorded:
    return SignalOutcomeRecorded(
        signal_id=f"{confidence}-{result}",
        session_id="s",
        strategy=strategy,
        symbol=Symbol("AAPL"),
        decision=Decision.BUY,
        confidence=confidence,
        level=level_of(confidence),
        outcome=result,
        bars=1,
        ts=T0,
    )


def test_the_report_gives_hit_rates_by_level_and_the_brier_score() -> None:
    outcomes = [
        outcome(80, Outcome.TARGET_FIRST),
        outcome(80, Outcome.TARGET_FIRST),
        outcome(80, Outcome.STOP_FIRST),
        outcome(40, Outcome.NEITHER),
        outcome(50, Outcome.TARGET_FIRST, strategy="y"),
    ]
    x, y = report(outcomes)
    assert x.strategy == "x"
    assert x.scored == 4
    # ((0.8-1)^2 * 2 + 0.8^2 + 0.4^2) / 4 = (0.08 + 0.64 + 0.16) / 4 = 0.22
    assert x.brier == Decimal("0.22")
    high = next(level for level in x.levels if level.level is ConfidenceLevel.VERY_HIGH)
    assert (high.signals, high.hits, high.stops, high.hit_rate) == (3, 2, 1, Decimal("0.6667"))
    medium = next(level for level in x.levels if level.level is ConfidenceLevel.MEDIUM)
    assert (medium.neither, medium.hit_rate) == (1, Decimal(0))
    assert y.brier == Decimal("0.25")


def test_a_signal_carries_its_scores_levels_and_quantized_prices() -> None:
    signal = long_signal(confidence=75)
    assert signal.level is ConfidenceLevel.HIGH
    assert (signal.entry, signal.stop, signal.targets) == (
        Decimal("100.00"),
        Decimal("98.00"),
        (Decimal("104.00"),),
    )
    assert signal.reward_risk == Decimal("2.00")
    assert signal.opportunity_score == 50  # 75 x min(2, 3) / 3
    assert signal.risk_score == 40  # 20 x 2% stop, no volatility yet
