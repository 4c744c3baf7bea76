"""An account statement on the terminal: summary, positions, working orders, closed trades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from papertape.cli.output import print_record, print_rows

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
)
ACCOUNT_LIST_COLUMNS = ("account_id", "name", "base_currency", "cash", "equity", "version")


def print_summary(title: str, summary: Mapping[str, Any]) -> None:
    """The account's summary."""
    print_record(title, summary, SUMMARY_FIELDS)


def print_positions(positions: Sequence[Mapping[str, Any]]) -> None:
    """Open positions at their marks."""
    print_rows("positions", positions, POSITION_COLUMNS)


def print_orders(orders: Sequence[Mapping[str, Any]]) -> None:
    """Working orders."""
    print_rows("open orders", orders, ORDER_COLUMNS)


def print_trades(trades: Sequence[Mapping[str, Any]]) -> None:
    """Closed trades."""
    print_rows("closed trades", trades, TRADE_COLUMNS)


def print_accounts(accounts: Sequence[Mapping[str, Any]]) -> None:
    """One line per account."""
    print_rows("accounts", accounts, ACCOUNT_LIST_COLUMNS)


def print_statement(title: str, statement: Mapping[str, Any]) -> None:
    """Summary, positions and orders (and closed trades and metrics when present)."""
    print_summary(title, statement["summary"])
    print_positions(statement.get("positions", []))
    print_orders(statement.get("open_orders", []))
    if statement.get("closed_trades"):
        print_trades(statement["closed_trades"])
    if statement.get("performance"):
        print_record("performance", statement["performance"])
