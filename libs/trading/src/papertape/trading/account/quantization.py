"""Reply payloads at the precision they leave the domain with, built from full-precision values.

Money is in the account's base currency, prices and quantities at the instrument's tick and
lot, percentages, ratios, R-multiples, pips and seconds at ``papertape.contract.precision``'s
decimals. The account's state is never rounded: only what these functions return.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import msgspec

from papertape.contract import precision
from papertape.contract.events.reports import (
    ClosedTrade,
    EquityPoint,
    OpenOrder,
    PerformanceMetrics,
)
from papertape.contract.limits import RiskLimits
from papertape.trading.account.state import Order

_replace = msgspec.structs.replace


def optional(value: Decimal | None, rounding: Callable[[Decimal], Decimal]) -> Decimal | None:
    """``rounding(value)``, or None for a missing value."""
    return None if value is None else rounding(value)


def limits(value: RiskLimits) -> RiskLimits:
    """Risk limits with their percentages at ``PERCENT_DECIMALS``."""
    pct = precision.percent
    return _replace(
        value,
        max_position_pct=pct(value.max_position_pct),
        max_risk_per_trade_pct=pct(value.max_risk_per_trade_pct),
        max_portfolio_heat_pct=pct(value.max_portfolio_heat_pct),
        max_daily_loss_pct=pct(value.max_daily_loss_pct),
    )


def trade(value: ClosedTrade, currency: str) -> ClosedTrade:
    """A closed trade at the precision of its instrument and of the account's currency."""
    symbol = value.symbol

    def money(amount: Decimal) -> Decimal:
        return precision.money(amount, currency)

    return _replace(
        value,
        quantity=precision.quantity(value.quantity, symbol),
        entry_price=precision.price(value.entry_price, symbol),
        exit_price=precision.price(value.exit_price, symbol),
        gross_pnl=money(value.gross_pnl),
        fees=money(value.fees),
        net_pnl=money(value.net_pnl),
        slippage=money(value.slippage),
        spread_cost=money(value.spread_cost),
        pips=optional(value.pips, precision.pips),
        r_multiple=optional(value.r_multiple, precision.r_multiple),
        holding_seconds=precision.seconds(value.holding_seconds),
    )


def point(value: EquityPoint, currency: str) -> EquityPoint:
    """An equity point in the account's currency."""
    return _replace(
        value,
        equity=precision.money(value.equity, currency),
        cash=precision.money(value.cash, currency),
        exposure=precision.money(value.exposure, currency),
        flow=precision.money(value.flow, currency),
    )


def open_order(value: Order, currency: str) -> OpenOrder:
    """A working order: prices at the tick, quantities at the lot, the reserve in money."""
    symbol = value.symbol

    def price(amount: Decimal | None) -> Decimal | None:
        return optional(amount, lambda p: precision.price(p, symbol))

    return OpenOrder(
        order_id=value.order_id,
        client_order_id=value.client_order_id,
        symbol=symbol,
        side=value.side,
        quantity=precision.quantity(value.quantity, symbol),
        order_type=value.order_type,
        limit_price=price(value.limit_price),
        stop_price=price(value.stop_price),
        trail_amount=price(value.trail_amount),
        trail_percent=optional(value.trail_percent, precision.percent),
        time_in_force=value.time_in_force,
        expire_at=value.expire_at,
        stop_loss=price(value.stop_loss),
        take_profit=price(value.take_profit),
        reduce_only=value.reduce_only,
        role=value.role,
        parent_order_id=value.parent_order_id,
        source=value.source,
        reference_price=precision.price(value.reference_price, symbol),
        reserved=precision.money(value.reserved, currency),
        opening=value.opening,
        placed_at=value.placed_at,
        filled_quantity=precision.quantity(value.filled_quantity, symbol),
        triggered=value.triggered,
        rate=value.rate,
    )


def metrics(value: PerformanceMetrics, currency: str) -> PerformanceMetrics:
    """Performance: money in the currency, percentages, ratios and R at their decimals."""

    def money(amount: Decimal) -> Decimal:
        return precision.money(amount, currency)

    def some_money(amount: Decimal | None) -> Decimal | None:
        return optional(amount, money)

    pct, ratio = precision.percent, precision.ratio
    return _replace(
        value,
        starting_equity=money(value.starting_equity),
        ending_equity=money(value.ending_equity),
        net_profit=money(value.net_profit),
        total_return_pct=pct(value.total_return_pct),
        win_rate_pct=pct(value.win_rate_pct),
        profit_factor=optional(value.profit_factor, ratio),
        expectancy=money(value.expectancy),
        average_win=money(value.average_win),
        average_loss=money(value.average_loss),
        average_r=optional(value.average_r, precision.r_multiple),
        best_trade=some_money(value.best_trade),
        worst_trade=some_money(value.worst_trade),
        max_drawdown=money(value.max_drawdown),
        max_drawdown_pct=pct(value.max_drawdown_pct),
        max_drawdown_duration_s=precision.seconds(value.max_drawdown_duration_s),
        sharpe=optional(value.sharpe, ratio),
        sortino=optional(value.sortino, ratio),
        cagr_pct=optional(value.cagr_pct, pct),
        calmar=optional(value.calmar, ratio),
        exposure_pct=pct(value.exposure_pct),
        fees=money(value.fees),
    )
