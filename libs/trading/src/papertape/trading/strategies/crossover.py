"""Moving-average crossover (``ma_crossover``): trend following on two averages of the close.

Rules: a fast average (SMA or EMA, ``fast`` bars) crossing above the slow one (``slow`` bars)
is a long entry, crossing below a short entry. ``long_only`` (the default) closes a long on the
cross below; ``reversal`` turns it into a short (and back). Confidence:
``40 + 40 x min(|fast - slow| / (0.5 x ATR), 1) + 20`` when the close is beyond both averages
on the side of the cross (a cross that already separated by half an ATR, with the price
confirming, is as sure as this strategy gets). Between crosses the confidence is that of the
trend still in place, without the entry.
"""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar

import msgspec

from papertape.contract.events.sessions import RiskSettings
from papertape.trading.strategies.api import Params, Setup, Strategy
from papertape.trading.strategies.indicators import EMA, SMA

Period = Annotated[int, msgspec.Meta(ge=2, le=500)]


class Average(enum.StrEnum):
    SMA = "sma"
    EMA = "ema"


class Direction(enum.StrEnum):
    LONG_ONLY = "long_only"
    REVERSAL = "reversal"


class CrossoverParams(Params, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fast and slow periods, the kind of average, and long-only or reversal."""

    fast: Period = 10
    slow: Period = 30
    average: Average = Average.EMA
    direction: Direction = Direction.LONG_ONLY
    atr_period: Period = 14
    volatility_period: Period = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")


class MovingAverageCrossover(Strategy):
    name: ClassVar[str] = "ma_crossover"
    description: ClassVar[str] = (
        "Fast/slow moving-average crossover (SMA or EMA), long-only or long/short reversal"
    )
    params_type: ClassVar[type[Params]] = CrossoverParams

    def __init__(self, params: CrossoverParams, risk: RiskSettings) -> None:
        super().__init__(params, risk, allow_short=params.direction is Direction.REVERSAL)
        kind = SMA if params.average is Average.SMA else EMA
        self.fast = kind(params.fast)
        self.slow = kind(params.slow)
        self._spread: float | None = None
        self._previous: float | None = None

    def observe(self, high: float, low: float, close: float) -> bool:
        fast, slow = self.fast.update(close), self.slow.update(close)
        self._previous = self._spread
        self._spread = None if fast is None or slow is None else fast - slow
        return (
            self._spread is not None and self._previous is not None and self.atr.value is not None
        )

    def setup(self, close: float, side: int) -> Setup:
        assert self._spread is not None
        assert self._previous is not None
        assert self.fast.value is not None
        assert self.slow.value is not None
        spread, previous = self._spread, self._previous
        atr = self.atr.value or 0.0
        up = spread > 0
        separation = min(abs(spread) / (0.5 * atr), 1.0) if atr > 0 else 0.0
        confirmed = (
            (close > max(self.fast.value, self.slow.value))
            if up
            else (close < min(self.fast.value, self.slow.value))
        )
        confidence = 40 + 40 * separation + (20 if confirmed else 0)
        factors = (
            f"fast {'above' if up else 'below'} slow by {separation:.2f} half-ATRs",
            "price confirms" if confirmed else "price does not confirm",
        )
        crossed_up = previous <= 0 < spread
        crossed_down = previous >= 0 > spread
        if crossed_up or crossed_down:
            word = "above" if crossed_up else "below"
            return Setup(
                1 if crossed_up else -1,
                False,
                confidence,
                f"the fast average crossed {word} the slow one",
                factors,
            )
        trend = "up" if up else "down"
        return Setup(0, False, confidence, f"no cross; the trend is {trend}", factors)

    def values(self) -> tuple[tuple[str, float], ...]:
        fast, slow = self.fast.value, self.slow.value
        if fast is not None and slow is not None:  # every bar after the warm-up
            return (("fast", fast), ("slow", slow))
        return tuple([(k, v) for k, v in (("fast", fast), ("slow", slow)) if v is not None])
