"""RSI mean reversion (``rsi_reversion``): buy the oversold, sell the overbought, exit at 50.

Rules: RSI (Wilder, ``period``) below ``oversold`` is a long entry, above ``overbought`` a short
entry (taken only with ``allow_short``); a long is closed when the RSI rises to ``exit_level``,
a short when it falls to ``100 - exit_level``. Confidence: ``40 + 60 x min(depth / 20, 1)``
where depth is how far the RSI is beyond its threshold (an RSI of 10 with oversold 30 is 100);
without a setup it is ``50 - |RSI - 50|`` (how far from neutral the market is not).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec

from papertape.contract.events.sessions import RiskSettings
from papertape.trading.strategies.api import Params, Setup, Strategy, between
from papertape.trading.strategies.indicators import RSI

Period = Annotated[int, msgspec.Meta(ge=2, le=500)]
Level = Annotated[Decimal, between(1, 99)]


class RsiParams(Params, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """RSI period, thresholds and the exit level."""

    period: Period = 14
    oversold: Level = Decimal(30)
    overbought: Level = Decimal(70)
    exit_level: Level = Decimal(50)
    allow_short: bool = False
    atr_period: Period = 14
    volatility_period: Period = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.oversold < self.exit_level < self.overbought:
            raise ValueError("oversold < exit_level < overbought is required")


class RsiReversion(Strategy):
    name: ClassVar[str] = "rsi_reversion"
    description: ClassVar[str] = "RSI (Wilder) mean reversion: buy oversold, sell overbought"
    params_type: ClassVar[type[Params]] = RsiParams

    def __init__(self, params: RsiParams, risk: RiskSettings) -> None:
        super().__init__(params, risk, allow_short=params.allow_short)
        self.rsi = RSI(params.period)
        self._oversold = float(params.oversold)
        self._overbought = float(params.overbought)
        self._exit = float(params.exit_level)

    def observe(self, high: float, low: float, close: float) -> bool:
        return self.rsi.update(close) is not None and self.atr.value is not None

    def setup(self, close: float, side: int) -> Setup:
        rsi = self.rsi.value
        assert rsi is not None
        factors = (f"RSI {rsi:.1f}",)
        if side > 0 and rsi >= self._exit:
            return Setup(0, True, 60, f"RSI {rsi:.1f} is back at {self._exit:g}", factors)
        if side < 0 and rsi <= 100 - self._exit:
            return Setup(0, True, 60, f"RSI {rsi:.1f} is back at {100 - self._exit:g}", factors)
        if rsi < self._oversold:
            depth = self._oversold - rsi
            return Setup(
                1,
                False,
                40 + 60 * min(depth / 20, 1.0),
                f"RSI {rsi:.1f} is oversold (below {self._oversold:g})",
                factors,
            )
        if rsi > self._overbought:
            depth = rsi - self._overbought
            return Setup(
                -1,
                False,
                40 + 60 * min(depth / 20, 1.0),
                f"RSI {rsi:.1f} is overbought (above {self._overbought:g})",
                factors,
            )
        return Setup(0, False, 50 - abs(rsi - 50), f"RSI {rsi:.1f} is neutral", factors)

    def values(self) -> tuple[tuple[str, float], ...]:
        return (("rsi", self.rsi.value),) if self.rsi.value is not None else ()
