"""Account metrics for the dashboards: equity, cash, day P&L, drawdown, positions, orders by
status, refusals by reason, and the fills' fees and slippage in the account's currency.

The gauges are worked out when they are scraped, from the state each account was last
observed in: a turn of the book only keeps a reference to the new state (an account summary
on every command was a twentieth of the portfolio's time under load, for values read every
few seconds at most). A scrape reports exactly what computing them on every turn would have.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


_GAUGES = (
    ("papertape_account_equity", "Equity at the last marks"),
    ("papertape_account_cash", "Cash"),
    ("papertape_account_day_pnl", "Equity now less equity at the start of the trading day"),
    ("papertape_account_drawdown_pct", "Drawdown from the high-water mark, %"),
    ("papertape_account_positions", "Open positions"),
    ("papertape_account_open_orders", "Working orders"),
)
"""The gauges of every account, in the order ``gauge_values`` gives them."""


def gauge_values(state: AccountState) -> tuple[float, ...]:
    """An account's gauges (``_GAUGES``' order) from its state."""
    summary = account_summary(state)
    day_pnl = precision.money(state.equity - state.day_start_equity, state.base_currency)
    return (
        float(summary.equity),
        float(summary.cash),
        float(day_pnl),
        float(summary.drawdown_pct),
        float(summary.positions),
        float(summary.open_orders),
    )


class LatestStates(Collector):
    """The accounts' gauges, computed at each scrape from the states last observed.

    The scrape runs in the metrics server's thread: it reads a copy of the mapping (taken
    at once under the GIL) and frozen states, never a half-written one.
    """

    def __init__(self) -> None:
        self.states: dict[str, AccountState] = {}

    def describe(self) -> Iterator[Metric]:
        """The metric names, for the registry's duplicate check (no samples)."""
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        for account_id, state in list(self.states.items()):
            for family, value in zip(families, gauge_values(state), strict=True):
                family.add_metric([account_id], value)
        return iter(families)

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(name, doc, labels=["account"]) for name, doc in _GAUGES]


class Children:
    """A labelled metric's children, each looked up once: ``labels`` checks its arguments and
    takes a lock on every call, and these are counted on every turn of the book. Its children
    are never removed (counters), so one looked up stays the metric's."""

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Counter] = {}

    def __call__(self, *labels: str) -> Counter:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._metric.labels(*labels)
        return child


class AccountGauges:
    """One series per account (paper trading has tens to thousands of accounts, not millions)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["account"]
        self._seen: set[str] = set()
        self._latest = LatestStates()
        registry.register(self._latest)
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
        self._orders, self._rejections = Children(self.orders), Children(self.rejections)
        self._fills, self._fees = Children(self.fills), Children(self.fees)
        self._slippage = Children(self.slippage)

    def observe(self, account_id: str, state: AccountState) -> None:
        """Keep the account's state for its gauges (worked out when scraped)."""
        if account_id not in self._seen:  # its counters exist from the start, at 0
            self._seen.add(account_id)
            for status in ORDER_STATUSES:
                self.orders.labels(account_id, status)
            self.fills.labels(account_id)
            self.fees.labels(account_id)
            self.slippage.labels(account_id)
        self._latest.states[account_id] = state  # its gauges are worked out when scraped

    def forget(self, account_id: str) -> None:
        """Drop the account's gauges: its partition moved to another replica, which reports
        them now (two replicas' values of one account would add up on a dashboard). Its
        counters stay: they count what this process did."""
        self._latest.states.pop(account_id, None)

    def count(self, account_id: str, events: Iterable[AccountEvent], currency: str) -> None:
        """Count orders, fills, costs and refusals among newly appended events."""
        for event in events:
            status = _STATUS.get(type(event))
            if status is not None:
                self._orders(account_id, status).inc()
            if isinstance(event, OrderFilledV2):
                self._filled(account_id, event, currency)
            elif isinstance(event, OrderRejected):
                self._rejections(account_id, event.reason_code.value).inc()

    def _filled(self, account_id: str, fill: OrderFilledV2, currency: str) -> None:
        self._fills(account_id).inc()
        if fill.order_remaining == 0:
            self._orders(account_id, "filled").inc()
        self._fees(account_id).inc(_base(fill.fee, fill.rate, currency))
        self._slippage(account_id).inc(_base(fill.slippage, fill.rate, currency))


def _base(amount: Decimal, rate: Decimal, currency: str) -> float:
    """A quote-currency cost in the base currency, to the cent (never negative: a counter)."""
    return max(float(precision.money(amount * rate, currency)), 0.0)
