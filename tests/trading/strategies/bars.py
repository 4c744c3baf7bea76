"""Bars for strategy tests: closes on a one-minute grid, highs and lows a little around them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.sessions import RiskSettings, StopKind
from papertape.contract.ids import Symbol

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
RISK = RiskSettings(
    risk_per_trade_pct=Decimal(1),
    min_confidence=50,
    max_open_positions=4,
    stop_kind=StopKind.ATR,
    stop_value=Decimal(2),
    target_r=(Decimal(2),),
)


def bar(
    close: float,
    index: int,
    *,
    symbol: str = "AAPL",
    spread: float = 0.5,
    high: float | None = None,
    low: float | None = None,
) -> BarClosed:
    start = T0 + timedelta(minutes=index)
    c = Decimal(f"{close:.2f}")
    h = Decimal(f"{high:.2f}") if high is not None else c + Decimal(f"{spread:.2f}")
    lo = Decimal(f"{low:.2f}") if low is not None else c - Decimal(f"{spread:.2f}")
    return BarClosed(
        symbol=Symbol(symbol),
        timeframe=Timeframe.M1,
        open=c,
        high=max(h, c),
        low=min(lo, c),
        close=c,
        volume=Decimal(100),
        start=start,
        end=start + timedelta(minutes=1),
        source="test",
    )


def bars(closes: Sequence[float], *, symbol: str = "AAPL", first: int = 0) -> list[BarClosed]:
    return [bar(c, first + i, symbol=symbol) for i, c in enumerate(closes)]


FAR = RiskSettings(
    risk_per_trade_pct=Decimal(1),
    min_confidence=50,
    max_open_positions=4,
    stop_kind=StopKind.PERCENT,
    stop_value=Decimal(10),
    target_r=(Decimal(10),),
)
"""Stops and targets out of reach: the strategy's own exits decide."""
