"""Donchian breakout (``donchian_breakout``): trade a close through the channel of past bars.

Rules: a close above the highest high of the previous ``period`` bars is a long entry, below the
lowest low a short entry (with ``allow_short``); a long is closed when the close falls below the
lowest low of the previous ``exit_period`` bars, a short when it rises above their highest high.
Confidence: ``50 + 50 x min(breakout / ATR, 1)`` where breakout is the close's distance beyond
the channel (a full ATR through is 100); inside the channel it is 30.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from papertape.contract.events.sessions import RiskSettings
from papertape.trading.strategies.api import Params, Setup, Strategy
from papertape.trading.strategies.indicators import Donchian

Period = Annotated[int, msgspec.Meta(ge=2, le=500)]


class DonchianParams(Params, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Entry and exit channel periods."""

    period: Period = 20
    exit_period: Period = 10
    allow_short: bool = False
    atr_period: Period = 14
    volatility_period: Period = 20


class DonchianBreakout(Strategy):
    name: ClassVar[str] = "donchian_breakout"
    description: ClassVar[str] = "Donchian channel breakout with a shorter exit channel"
    params_type: ClassVar[type[Params]] = DonchianParams

    def __init__(self, params: DonchianParams, risk: RiskSettings) -> None:
        super().__init__(params, risk, allow_short=params.allow_short)
        self.channel = Donchian(params.period)
        self.exit_channel = Donchian(params.exit_period)
        # The channels of the bars before this one: a breakout is measured against them.
        self._entry: tuple[float | None, float | None] = (None, None)
        self._exit: tuple[float | None, float | None] = (None, None)

    def observe(self, high: float, low: float, close: float) -> bool:
        self._entry = (self.channel.upper, self.channel.lower)
        self._exit = (self.exit_channel.upper, self.exit_channel.lower)
        self.channel.update(high, low)
        self.exit_channel.update(high, low)
        ready = None not in self._entry and None not in self._exit
        return ready and self.atr.value is not None

    def setup(self, close: float, side: int) -> Setup:
        upper, lower = self._entry
        exit_upper, exit_lower = self._exit
        assert upper is not None
        assert lower is not None
        assert exit_upper is not None
        assert exit_lower is not None
        atr = self.atr.value or 0.0
        factors = (f"channel {lower:.6g}-{upper:.6g}",)
        if side > 0 and close < exit_lower:
            return Setup(0, True, 60, "the close fell through the exit channel", factors)
        if side < 0 and close > exit_upper:
            return Setup(0, True, 60, "the close rose through the exit channel", factors)
        if close > upper:
            depth = min((close - upper) / atr, 1.0) if atr > 0 else 0.0
            return Setup(1, False, 50 + 50 * depth, "the close broke above the channel", factors)
        if close < lower:
            depth = min((lower - close) / atr, 1.0) if atr > 0 else 0.0
            return Setup(-1, False, 50 + 50 * depth, "the close broke below the channel", factors)
        return Setup(0, False, 30, "the close is inside the channel", factors)

    def values(self) -> tuple[tuple[str, float], ...]:
        upper, lower = self._entry
        if upper is not None and lower is not None:  # every bar after the warm-up
            return (("donchian_upper", upper), ("donchian_lower", lower))
        found = (("donchian_upper", upper), ("donchian_lower", lower))
        return tuple([(k, v) for k, v in found if v is not None])
