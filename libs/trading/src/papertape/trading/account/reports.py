"""What the account queries answer: summary, positions, orders, trades, report, CSV export.

Every number is quantized here, where it leaves the domain (``quantization``); the state keeps
full precision.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract import precision
from papertape.contract.events.reports import (
    AccountReport,
    AccountSummary,
    ClosedTrade,
    EquityPoint,
    OpenOrder,
    PerformanceMetrics,
    PositionView,
)
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account import quantization
from papertape.trading.account.performance import performance
from papertape.trading.account.state import AccountState


def account_summary(state: AccountState) -> AccountSummary:
    """The summary of an account."""
    currency = state.base_currency

    def money(amount: Decimal) -> Decimal:
        return precision.money(amount, currency)

    equity = state.equity
    dd = max(ZERO, state.high_water_mark - equity)
    hwm = state.high_water_mark
    return AccountSummary(
        account_id=state.account_id,
        name=state.name,
        base_currency=currency,
        epoch=state.epoch,
        is_open=state.is_open,
        cash=money(state.cash),
        equity=money(equity),
        buying_power=money(state.available_funds),
        reserved=money(state.reserved),
        unrealized_pnl=money(state.unrealized_pnl),
        realized_pnl=money(state.realized_pnl),
        fees_paid=money(state.fees_paid),
        open_risk=money(state.open_risk),
        high_water_mark=money(hwm),
        drawdown=money(dd),
        drawdown_pct=precision.percent(dd * HUNDRED / hwm if hwm > 0 else ZERO),
        max_drawdown=money(state.max_drawdown),
        max_drawdown_pct=precision.percent(state.max_drawdown_pct),
        halted=state.halted,
        halt_reason=state.halt_reason,
        circuit_breaker_tripped=state.breaker_tripped,
        trading_day=state.day,
        trades_today=state.trades_today,
        positions=len(state.positions),
        open_orders=len(state.orders),
        allow_short=state.allow_short,
        limits=quantization.limits(state.limits),
        costs=state.costs,
        version=state.version,
    )


def positions(state: AccountState) -> list[PositionView]:
    """Open positions, by symbol."""
    currency = state.base_currency

    def money(amount: Decimal) -> Decimal:
        return precision.money(amount, currency)

    return [
        PositionView(
            symbol=p.symbol,
            quantity=precision.quantity(p.quantity, p.symbol),
            avg_price=precision.price(p.avg_price, p.symbol),
            mark=precision.price(p.mark, p.symbol),
            market_value=money(p.market_value),
            unrealized_pnl=money(p.unrealized_pnl),
            realized_pnl=money(p.realized_pnl),
            stop=None if p.stop is None else precision.price(p.stop, p.symbol),
            open_risk=money(p.open_risk),
            opened_at=p.opened_at,
            rate=p.rate,
        )
        for _, p in sorted(state.positions.items())
    ]


def open_orders(state: AccountState) -> list[OpenOrder]:
    """Working orders, oldest first."""
    ordered = sorted(state.orders.values(), key=lambda o: (o.placed_at, o.order_id))
    return [quantization.open_order(o, state.base_currency) for o in ordered]


def closed_trades(state: AccountState, limit: int | None = None) -> list[ClosedTrade]:
    """Closed trades of the current epoch, newest last (the last ``limit`` when given)."""
    trades = state.closed_trades.to_list()
    chosen = trades[-limit:] if limit else trades
    return [quantization.trade(t, state.base_currency) for t in chosen]


def equity_curve(state: AccountState, since: datetime | None = None) -> list[EquityPoint]:
    """The equity curve of the current epoch from its opening (from ``since`` when given)."""
    return [
        quantization.point(p, state.base_currency)
        for p in state.equity_curve
        if since is None or p.ts >= since
    ]


def account_performance(state: AccountState, periods_per_year: int = 252) -> PerformanceMetrics:
    """Performance of the current epoch."""
    metrics = performance(
        state.closed_trades,
        state.equity_curve,
        starting_equity=state.initial_cash,
        net_deposits=state.net_deposits,
        fees=state.fees_paid,
        periods_per_year=periods_per_year,
        max_drawdown=(state.max_drawdown, state.max_drawdown_pct),
    )
    return quantization.metrics(metrics, state.base_currency)


def account_report(state: AccountState, periods_per_year: int = 252) -> AccountReport:
    """The full report."""
    return AccountReport(
        summary=account_summary(state),
        positions=positions(state),
        open_orders=open_orders(state),
        closed_trades=closed_trades(state),
        equity_curve=equity_curve(state),
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
    """Closed trades (quantized ones: ``closed_trades``) as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for trade in trades:
        row = msgspec.to_builtins(trade)
        writer.writerow("" if row.get(c) is None else row[c] for c in TRADE_COLUMNS)
    return out.getvalue()
