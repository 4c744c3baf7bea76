"""Calibration: was a strategy's 80% right 80% of the time?

Each actionable signal (BUY or SELL with a stop and a target) is followed bar by bar, from the
bar after it, until the market reaches its first target (``target_first``, a hit) or its stop
(``stop_first``); when one bar reaches both, the stop counts first (a bar hides the order of its
prices, as the venue assumes). After ``horizon`` bars with neither it is ``neither``. Per
strategy the report gives, by confidence level, the hit rate (hits over scored signals) and
the **Brier score**: the mean of ``(confidence / 100 - hit)^2`` over every scored signal, hit
being 1 for ``target_first`` and 0 otherwise (0 is perfect; always saying 50% scores 0.25).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import CalibrationReport, LevelCalibration
from papertape.contract.events.signals import (
    ConfidenceLevel,
    Decision,
    Outcome,
    SignalGenerated,
    SignalOutcomeRecorded,
)
from papertape.contract.money import DECIMAL_CONTEXT, quantize_places

DEFAULT_HORIZON = 20


@dataclass(slots=True)
class Pending:
    """An actionable signal waiting for its outcome."""

    signal: SignalGenerated
    bars: int = 0


_SCORED = frozenset({Decision.BUY, Decision.SELL, Decision.SKIP})
"""A set made once: each ``Decision.X`` lookup is slow on 3.11, and this is asked per signal."""


def actionable(signal: SignalGenerated) -> bool:
    """Whether a signal is scored: an entry with a stop and a target (BUY or SELL, or a SKIP
    of a setup the session did not take: the strategy's call is scored all the same)."""
    return (
        signal.decision in _SCORED
        and signal.entry is not None
        and signal.stop is not None
        and bool(signal.targets)
    )


def is_long(signal: SignalGenerated) -> bool:
    """Whether an actionable signal is a long entry (its stop is below its entry)."""
    assert signal.entry is not None
    assert signal.stop is not None
    return signal.stop < signal.entry


def outcome_on(pending: Pending, bar: BarClosed, horizon: int) -> SignalOutcomeRecorded | None:
    """The outcome a bar gives a pending signal (None: still open)."""
    signal = pending.signal
    assert signal.stop is not None
    assert signal.targets
    stop, target = signal.stop, signal.targets[0]
    bars = pending.bars + 1
    long = is_long(signal)
    outcome: Outcome | None = None
    exit_price: Decimal | None = None
    if (bar.low <= stop) if long else (bar.high >= stop):
        outcome, exit_price = Outcome.STOP_FIRST, stop
    elif (bar.high >= target) if long else (bar.low <= target):
        outcome, exit_price = Outcome.TARGET_FIRST, target
    elif bars >= horizon:
        outcome, exit_price = Outcome.NEITHER, bar.close
    if outcome is None:
        return None
    return SignalOutcomeRecorded(
        signal_id=signal.signal_id,
        session_id=signal.session_id,
        strategy=signal.strategy,
        symbol=signal.symbol,
        decision=signal.decision,
        confidence=signal.confidence,
        level=signal.level,
        outcome=outcome,
        bars=bars,
        exit_price=exit_price,
        ts=bar.end,
    )


def _ratio(a: int | Decimal, b: int) -> Decimal:
    if b == 0:
        return Decimal(0)
    return quantize_places(DECIMAL_CONTEXT.divide(Decimal(a), Decimal(b)), 4)


def report(outcomes: Iterable[SignalOutcomeRecorded]) -> list[CalibrationReport]:
    """Per strategy (sorted by name): hit rate by confidence level and the Brier score."""
    by_strategy: dict[str, list[SignalOutcomeRecorded]] = {}
    for outcome in outcomes:
        by_strategy.setdefault(outcome.strategy, []).append(outcome)
    reports = []
    for strategy in sorted(by_strategy):
        scored = by_strategy[strategy]
        brier = sum(
            (Decimal(o.confidence) / 100 - (1 if o.outcome is Outcome.TARGET_FIRST else 0)) ** 2
            for o in scored
        )
        levels = []
        for level in ConfidenceLevel:
            those = [o for o in scored if o.level is level]
            if not those:
                continue
            hits = sum(o.outcome is Outcome.TARGET_FIRST for o in those)
            stops = sum(o.outcome is Outcome.STOP_FIRST for o in those)
            levels.append(
                LevelCalibration(
                    level=level,
                    signals=len(those),
                    hits=hits,
                    stops=stops,
                    neither=len(those) - hits - stops,
                    hit_rate=_ratio(hits, len(those)),
                    mean_confidence=_ratio(sum(o.confidence for o in those), len(those)),
                )
            )
        reports.append(
            CalibrationReport(
                strategy=strategy,
                scored=len(scored),
                brier=_ratio(brier, len(scored)) if scored else None,
                levels=tuple(levels),
            )
        )
    return reports
