"""Account metrics for the dashboards: equity, cash, day P&L, drawdown, positions, orders by
status, refusals by reason, and the fills' fees and slippage in the account's currency."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge

from papertape.contract import precision
from papertape.contract.events.account import (
    AccountEvent,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
    OrderTriggered,
)
from papertape.trading.account import AccountState
from papertape.trading.account.reports import account_summary

# The status an event moves an order to (a fill is ``filled`` once nothing remains).
_STATUS: dict[type, str] = {
    OrderPlaced: "placed",
    OrderRejected: "rejected",
    OrderCancelled: "cancelled",
    OrderExpired: "expired",
    OrderTriggered: "triggered",
}

ORDER_STATUSES = (*_STATUS.values(), "filled")


class AccountGauges:
    """One series per account (paper trading has tens to thousands of accounts, not millions)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["account"]
        self._seen: set[str] = set()
        self.equity = Gauge(
            "papertape_account_equity", "Equity at the last marks", labels, registry=registry
        )
        self.cash = Gauge("papertape_account_cash", "Cash", labels, registry=registry)
        self.day_pnl = Gauge(
            "papertape_account_day_pnl",
            "Equity now less equity at the start of the trading day",
            labels,
            registry=registry,
        )
        self.drawdown_pct = Gauge(
            "papertape_account_drawdown_pct",
            "Drawdown from the high-water mark, %",
            labels,
            registry=registry,
        )
        self.positions = Gauge(
            "papertape_account_positions", "Open positions", labels, registry=registry
        )
        self.open_orders = Gauge(
            "papertape_account_open_orders", "Working orders", labels, registry=registry
        )
        self.fills = Counter(
            "papertape_account_fills_total", "Fills applied", labels, registry=registry
        )
        self.fees = Counter(
            "papertape_account_fees_total",
            "Fees the fills charged, in the account's base currency",
            labels,
            registry=registry,
        )
        self.slippage = Counter(
            "papertape_account_slippage_total",
            "Cash the fills paid beyond the touch, in the account's base currency",
            labels,
            registry=registry,
        )
        self.orders = Counter(
            "papertape_orders_total",
            "Orders moved to a status (placed, filled, cancelled, expired, triggered, rejected)",
            ["account", "status"],
            registry=registry,
        )
        self.rejections = Counter(
            "papertape_order_rejections_total",
            "Orders refused by pre-trade risk, by reason",
            ["account", "reason"],
            registry=registry,
        )

    def observe(self, account_id: str, state: AccountState) -> None:
        """Set the account's gauges from its state."""
        if account_id not in self._seen:  # its counters exist from the start, at 0
            self._seen.add(account_id)
            for status in ORDER_STATUSES:
                self.orders.labels(account_id, status)
            self.fills.labels(account_id)
            self.fees.labels(account_id)
            self.slippage.labels(account_id)
        summary = account_summary(state)
        day_pnl = precision.money(state.equity - state.day_start_equity, state.base_currency)
        self.equity.labels(account_id).set(float(summary.equity))
        self.cash.labels(account_id).set(float(summary.cash))
        self.day_pnl.labels(account_id).set(float(day_pnl))
        self.drawdown_pct.labels(account_id).set(float(summary.drawdown_pct))
        self.positions.labels(account_id).set(summary.positions)
        self.open_orders.labels(account_id).set(summary.open_orders)

    def forget(self, account_id: str) -> None:
        """Drop the account's gauges: its partition moved to another replica, which reports
        them now (two replicas' values of one account would add up on a dashboard). Its
        counters stay: they count what this process did."""
        for gauge in (
            self.equity,
            self.cash,
            self.day_pnl,
            self.drawdown_pct,
            self.positions,
            self.open_orders,
        ):
            gauge.remove(account_id)

    def count(self, account_id: str, events: Iterable[AccountEvent], currency: str) -> None:
        """Count orders, fills, costs and refusals among newly appended events."""
        for event in events:
            status = _STATUS.get(type(event))
            if status is not None:
                self.orders.labels(account_id, status).inc()
            if isinstance(event, OrderFilledV2):
                self._filled(account_id, event, currency)
            elif isinstance(event, OrderRejected):
                self.rejections.labels(account_id, event.reason_code.value).inc()

    def _filled(self, account_id: str, fill: OrderFilledV2, currency: str) -> None:
        self.fills.labels(account_id).inc()
        if fill.order_remaining == 0:
            self.orders.labels(account_id, "filled").inc()
        self.fees.labels(account_id).inc(_base(fill.fee, fill.rate, currency))
        self.slippage.labels(account_id).inc(_base(fill.slippage, fill.rate, currency))


def _base(amount: Decimal, rate: Decimal, currency: str) -> float:
    """A quote-currency cost in the base currency, to the cent (never negative: a counter)."""
    return max(float(precision.money(amount * rate, currency)), 0.0)
