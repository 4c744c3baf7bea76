"""What the account queries answer: summary, positions, orders, trades, report, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import msgspec

from papertape.contract.costs import CostSchedule
from papertape.contract.events.account import RiskLimits
from papertape.contract.ids import AccountId, Symbol
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.performance import PerformanceMetrics, performance
from papertape.trading.account.state import AccountState, ClosedTrade, EquityPoint, Order


class AccountSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An account at a glance."""

    account_id: AccountId
    name: str
    base_currency: str
    epoch: int
    is_open: bool
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    reserved: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal
    open_risk: Decimal
    high_water_mark: Decimal
    drawdown: Decimal
    drawdown_pct: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    halted: bool
    halt_reason: str
    circuit_breaker_tripped: bool
    trading_day: date | None
    trades_today: int
    positions: int
    open_orders: int
    allow_short: bool
    limits: RiskLimits
    costs: CostSchedule
    version: int


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    """A position at its mark."""

    symbol: Symbol
    quantity: Decimal
    avg_price: Decimal
    mark: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    stop: Decimal | None
    open_risk: Decimal
    opened_at: datetime | None


class AccountReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything about an account's current epoch in one answer."""

    summary: AccountSummary
    positions: list[PositionView]
    open_orders: list[Order]
    closed_trades: list[ClosedTrade]
    equity_curve: list[EquityPoint]
    performance: PerformanceMetrics


def account_summary(state: AccountState) -> AccountSummary:
    """The summary of an account."""
    equity = state.equity
    dd = max(ZERO, state.high_water_mark - equity)
    return AccountSummary(
        account_id=state.account_id,
        name=state.name,
        base_currency=state.base_currency,
        epoch=state.epoch,
        is_open=state.is_open,
        cash=state.cash,
        equity=equity,
        buying_power=state.available_funds,
        reserved=state.reserved,
        unrealized_pnl=state.unrealized_pnl,
        realized_pnl=state.realized_pnl,
        fees_paid=state.fees_paid,
        open_risk=state.open_risk,
        high_water_mark=state.high_water_mark,
        drawdown=dd,
        drawdown_pct=dd * HUNDRED / state.high_water_mark if state.high_water_mark > 0 else ZERO,
        max_drawdown=state.max_drawdown,
        max_drawdown_pct=state.max_drawdown_pct,
        halted=state.halted,
        halt_reason=state.halt_reason,
        circuit_breaker_tripped=state.breaker_tripped,
        trading_day=state.day,
        trades_today=state.trades_today,
        positions=len(state.positions),
        open_orders=len(state.orders),
        allow_short=state.allow_short,
        limits=state.limits,
        costs=state.costs,
        version=state.version,
    )


def positions(state: AccountState) -> list[PositionView]:
    """Open positions, by symbol."""
    return [
        PositionView(
            symbol=p.symbol,
            quantity=p.quantity,
            avg_price=p.avg_price,
            mark=p.mark,
            market_value=p.market_value,
            unrealized_pnl=p.unrealized_pnl,
            realized_pnl=p.realized_pnl,
            stop=p.stop,
            open_risk=p.open_risk,
            opened_at=p.opened_at,
        )
        for _, p in sorted(state.positions.items())
    ]


def open_orders(state: AccountState) -> list[Order]:
    """Working orders, oldest first."""
    return sorted(state.orders.values(), key=lambda o: (o.placed_at, o.order_id))


def closed_trades(state: AccountState, limit: int | None = None) -> list[ClosedTrade]:
    """Closed trades of the current epoch, newest last (the last ``limit`` when given)."""
    trades = state.closed_trades.to_list()
    return trades[-limit:] if limit else trades


def account_performance(state: AccountState, periods_per_year: int = 252) -> PerformanceMetrics:
    """Performance of the current epoch."""
    return performance(
        state.closed_trades,
        state.equity_curve,
        starting_equity=state.initial_cash,
        net_deposits=state.net_deposits,
        fees=state.fees_paid,
        periods_per_year=periods_per_year,
        max_drawdown=(state.max_drawdown, state.max_drawdown_pct),
    )


def account_report(state: AccountState, periods_per_year: int = 252) -> AccountReport:
    """The full report."""
    return AccountReport(
        summary=account_summary(state),
        positions=positions(state),
        open_orders=open_orders(state),
        closed_trades=closed_trades(state),
        equity_curve=state.equity_curve,
        performance=account_performance(state, periods_per_year),
    )


TRADE_COLUMNS = (
    "symbol",
    "direction",
    "quantity",
    "entry_price",
    "exit_price",
    "opened_at",
    "closed_at",
    "gross_pnl",
    "fees",
    "net_pnl",
    "pips",
    "r_multiple",
    "holding_seconds",
    "exit_reason",
    "exit_order_id",
    "slippage",
    "spread_cost",
)
"""New columns go at the end, so a sheet that reads columns by position keeps working."""


def trades_csv(trades: Sequence[ClosedTrade]) -> str:
    """Closed trades as CSV text with a header row (times in ISO 8601, money as written)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for trade in trades:
        row = msgspec.to_builtins(trade)
        writer.writerow("" if row.get(c) is None else row[c] for c in TRADE_COLUMNS)
    return out.getvalue()
