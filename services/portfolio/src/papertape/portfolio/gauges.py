"""Account metrics for the dashboards: equity, cash, drawdown, positions, refusals by reason."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from papertape.contract.events.account import AccountEvent, OrderFilledV2, OrderRejected
from papertape.trading.account import AccountState
from papertape.trading.account.reports import account_summary


class AccountGauges:
    """One series per account (paper trading has tens to thousands of accounts, not millions)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["account"]
        self.equity = Gauge(
            "papertape_account_equity", "Equity at the last marks", labels, registry=registry
        )
        self.cash = Gauge("papertape_account_cash", "Cash", labels, registry=registry)
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
        self.rejections = Counter(
            "papertape_order_rejections_total",
            "Orders refused by pre-trade risk, by reason",
            ["account", "reason"],
            registry=registry,
        )

    def observe(self, account_id: str, state: AccountState) -> None:
        """Set the account's gauges from its state."""
        summary = account_summary(state)
        self.equity.labels(account_id).set(float(summary.equity))
        self.cash.labels(account_id).set(float(summary.cash))
        self.drawdown_pct.labels(account_id).set(float(summary.drawdown_pct))
        self.positions.labels(account_id).set(summary.positions)
        self.open_orders.labels(account_id).set(summary.open_orders)

    def count(self, account_id: str, events: Iterable[AccountEvent]) -> None:
        """Count fills and refusals among newly appended events."""
        for event in events:
            if isinstance(event, OrderFilledV2):
                self.fills.labels(account_id).inc()
            elif isinstance(event, OrderRejected):
                self.rejections.labels(account_id, event.reason_code.value).inc()
