"""Bollinger reversion (``bollinger_reversion``): fade closes outside the bands, exit at the middle.

Rules: a close below the lower band (SMA(``period``) - ``width`` standard deviations) is a long
entry, above the upper band a short entry (with ``allow_short``); a long is closed when the
close reaches the middle band, a short likewise. Confidence: ``40 + 60 x min(4 x overshoot, 1)``
where overshoot is how far beyond the band the close is, as a fraction of the band's width
(a quarter of the width or more is 100); inside the bands it is 30.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec

from papertape.contract.events.sessions import RiskSettings
from papertape.trading.strategies.api import Params, Setup, Strategy, between
from papertape.trading.strategies.indicators import Bollinger

Period = Annotated[int, msgspec.Meta(ge=2, le=500)]


class BollingerParams(Params, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Band period and width (standard deviations)."""

    period: Period = 20
    width: Annotated[Decimal, between(Decimal("0.5"), 5)] = Decimal(2)
    allow_short: bool = False
    atr_period: Period = 14
    volatility_period: Period = 20


class BollingerReversion(Strategy):
    name: ClassVar[str] = "bollinger_reversion"
    description: ClassVar[str] = "Bollinger band reversion: fade closes outside the bands"
    params_type: ClassVar[type[Params]] = BollingerParams

    def __init__(self, params: BollingerParams, risk: RiskSettings) -> None:
        super().__init__(params, risk, allow_short=params.allow_short)
        self.bands = Bollinger(params.period, float(params.width))

    def observe(self, high: float, low: float, close: float) -> bool:
        return self.bands.update(close) is not None and self.atr.value is not None

    def setup(self, close: float, side: int) -> Setup:
        bands = self.bands
        assert bands.upper is not None
        assert bands.lower is not None
        assert bands.middle is not None
        width = bands.upper - bands.lower
        where = (close - bands.lower) / width if width > 0 else 0.5
        factors = (f"close at {where:.2f} of the band width",)
        if side > 0 and close >= bands.middle:
            return Setup(0, True, 60, "the close is back at the middle band", factors)
        if side < 0 and close <= bands.middle:
            return Setup(0, True, 60, "the close is back at the middle band", factors)
        if close < bands.lower:
            confidence = 40 + 60 * min(4 * (bands.lower - close) / width, 1.0) if width else 40
            return Setup(1, False, confidence, "the close is below the lower band", factors)
        if close > bands.upper:
            confidence = 40 + 60 * min(4 * (close - bands.upper) / width, 1.0) if width else 40
            return Setup(-1, False, confidence, "the close is above the upper band", factors)
        return Setup(0, False, 30, "the close is inside the bands", factors)

    def values(self) -> tuple[tuple[str, float], ...]:
        b = self.bands
        upper, middle, lower = b.upper, b.middle, b.lower
        if upper is not None and middle is not None and lower is not None:  # after the warm-up
            return (("bb_upper", upper), ("bb_middle", middle), ("bb_lower", lower))
        found = (("bb_upper", upper), ("bb_middle", middle), ("bb_lower", lower))
        return tuple([(k, v) for k, v in found if v is not None])
