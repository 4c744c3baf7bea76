"""An account statement on the terminal: summary, positions, working orders, closed trades."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from papertape.cli.output import print_record, print_rows
from papertape.contract.codec import to_builtins
from papertape.contract.events.reports import (
    AccountListing,
    AccountReport,
    AccountSummary,
    ClosedTrade,
    OpenOrder,
    PerformanceMetrics,
    PositionView,
)

SUMMARY_FIELDS = (
    "account_id",
    "name",
    "base_currency",
    "epoch",
    "is_open",
    "cash",
    "equity",
    "buying_power",
    "reserved",
    "unrealized_pnl",
    "realized_pnl",
    "fees_paid",
    "open_risk",
    "drawdown_pct",
    "max_drawdown_pct",
    "halted",
    "halt_reason",
    "circuit_breaker_tripped",
    "trades_today",
    "positions",
    "open_orders",
    "version",
)
POSITION_COLUMNS = (
    "symbol",
    "quantity",
    "avg_price",
    "mark",
    "market_value",
    "unrealized_pnl",
    "realized_pnl",
    "stop",
    "rate",
)
ORDER_COLUMNS = (
    "order_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "filled_quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "role",
    "parent_order_id",
    "placed_at",
)
TRADE_COLUMNS = (
    "symbol",
    "direction",
    "quantity",
    "entry_price",
    "exit_price",
    "net_pnl",
    "fees",
    "slippage",
    "spread_cost",
    "r_multiple",
    "holding_seconds",
    "exit_reason",
    "closed_at",
    "rate",
)
ACCOUNT_LIST_COLUMNS = ("account_id", "name", "base_currency", "cash", "equity", "version")


def _record(value: msgspec.Struct) -> dict[str, Any]:
    record: dict[str, Any] = to_builtins(value)
    record.pop("type", None)  # the payload's tag: the title says what it is
    return record


def _records(values: Sequence[msgspec.Struct]) -> list[dict[str, Any]]:
    return [_record(v) for v in values]


def print_summary(title: str, summary: AccountSummary) -> None:
    """The account's summary."""
    print_record(title, _record(summary), SUMMARY_FIELDS)


def print_positions(positions: Sequence[PositionView]) -> None:
    """Open positions at their marks."""
    print_rows("positions", _records(positions), POSITION_COLUMNS)


def print_orders(orders: Sequence[OpenOrder]) -> None:
    """Working orders."""
    print_rows("open orders", _records(orders), ORDER_COLUMNS)


def print_trades(trades: Sequence[ClosedTrade]) -> None:
    """Closed trades."""
    print_rows("closed trades", _records(trades), TRADE_COLUMNS)


def print_accounts(accounts: Sequence[AccountListing]) -> None:
    """One line per account."""
    print_rows("accounts", _records(accounts), ACCOUNT_LIST_COLUMNS)


def print_performance(metrics: PerformanceMetrics) -> None:
    """Performance metrics."""
    print_record("performance", _record(metrics))


def print_statement(
    title: str,
    summary: AccountSummary,
    positions: Sequence[PositionView],
    orders: Sequence[OpenOrder],
    trades: Sequence[ClosedTrade] = (),
    performance: PerformanceMetrics | None = None,
) -> None:
    """Summary, positions and orders (and closed trades and metrics when present)."""
    print_summary(title, summary)
    print_positions(positions)
    print_orders(orders)
    if trades:
        print_trades(trades)
    if performance is not None:
        print_performance(performance)


def print_report(title: str, report: AccountReport) -> None:
    """The full report of an account."""
    print_statement(
        title,
        report.summary,
        report.positions,
        report.open_orders,
        report.closed_trades,
        report.performance,
    )
