"""An account's pre-trade risk limits: what each order is checked against before it is placed."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.bounds import Bounded, Count, Exposure, Seconds


class RiskLimits(Bounded, frozen=True, kw_only=True):
    """An account's pre-trade risk limits (percentages of equity, 0-100)."""

    max_position_pct: Exposure = Decimal(10)
    max_risk_per_trade_pct: Exposure = Decimal(2)
    max_portfolio_heat_pct: Exposure = Decimal(10)
    max_daily_loss_pct: Exposure = Decimal(5)
    max_trades_per_day: Count = 50
    min_trade_interval_s: Seconds = 0
