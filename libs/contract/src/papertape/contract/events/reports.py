"""What the portfolio's queries answer: every reply payload, with numbers at their precision.

These structs travel in ``Reply.result``; each has a schema in proto/schemas/replies/. Their
numbers are quantized where they leave the domain (see ``papertape.contract.precision``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import msgspec

from papertape.contract.costs import CostSchedule
from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.base import wire_tag
from papertape.contract.events.orders import (
    ExitReason,
    OrderRole,
    OrderSide,
    OrderSource,
    OrderType,
    TimeInForce,
)
from papertape.contract.ids import AccountId, ClientOrderId, OrderId, Symbol
from papertape.contract.limits import RiskLimits

ZERO = Decimal(0)


class Report(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=wire_tag):
    """A reply payload, tagged with its name and version like every message (``closed_trade.v1``).

    The tag is optional when a payload is decoded as its own type, so older copies (a snapshot's
    trades and curve) still read.
    """


class ClosedTrade(Report, frozen=True, kw_only=True):
    """A closed quantity: entry and exit at average cost, P&L net of its share of fees."""

    symbol: Symbol
    direction: OrderSide
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    opened_at: datetime
    closed_at: datetime
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    slippage: Decimal = ZERO
    """What the fills paid beyond the touch, entry share and exit (in the prices already)."""
    spread_cost: Decimal = ZERO
    """What the fills paid for the spread against the mid (in the prices already)."""
    pips: Decimal | None = None
    r_multiple: Decimal | None = None
    holding_seconds: float
    exit_reason: ExitReason
    exit_order_id: OrderId
    round_trip_id: str | None = None
    """The position this leg closed part of (its symbol and opening time): legs share it."""
    rate: Decimal = Decimal(1)
    """Base-currency units per unit of the quote currency at the closing fill: prices are in
    the quote currency, money (P&L, fees, slippage, spread) in the base currency at this rate."""


class EquityPoint(Report, frozen=True, kw_only=True):
    """Equity, cash and gross exposure at a moment."""

    ts: datetime
    equity: Decimal
    cash: Decimal
    exposure: Decimal = ZERO
    flow: Decimal = ZERO
    """Deposits less withdrawals since the previous point (in ``equity`` already)."""


class OpenOrder(Report, frozen=True, kw_only=True):
    """A working order as the account sees it, with how much of it has filled."""

    order_id: OrderId
    client_order_id: ClientOrderId | None = None
    symbol: Symbol
    side: OrderSide
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce
    expire_at: datetime | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reduce_only: bool = False
    role: OrderRole = OrderRole.ENTRY
    parent_order_id: OrderId | None = None
    source: OrderSource = OrderSource.MANUAL
    reference_price: Decimal
    reserved: Decimal = ZERO
    opening: bool = True
    placed_at: datetime
    filled_quantity: Decimal = ZERO
    triggered: bool = False
    rate: Decimal = Decimal(1)
    """Base-currency units per unit of the quote currency when placed: ``reserved`` is in the
    base currency, prices in the quote currency."""


class AccountSummary(Report, frozen=True, kw_only=True):
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


class PositionView(Report, frozen=True, kw_only=True):
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
    rate: Decimal = Decimal(1)
    """Base-currency units per unit of the quote currency now: prices are in the quote
    currency, money in the base currency."""


class PerformanceMetrics(Report, frozen=True, kw_only=True):
    """How an account (or a backtest) did; statistics of returns are ratios, not floats."""

    starting_equity: Decimal
    ending_equity: Decimal
    net_profit: Decimal
    total_return_pct: Decimal
    trades: int
    wins: int
    losses: int
    win_rate_pct: Decimal
    profit_factor: Decimal | None
    expectancy: Decimal
    average_win: Decimal
    average_loss: Decimal
    average_r: Decimal | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    longest_win_streak: int
    longest_loss_streak: int
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    max_drawdown_duration_s: float
    sharpe: Decimal | None
    sortino: Decimal | None
    cagr_pct: Decimal | None
    calmar: Decimal | None
    exposure_pct: Decimal
    fees: Decimal
    legs: int = 0
    """Closed trades counted: ``trades`` counts round trips, a scaled-out position once."""


class AccountReport(Report, frozen=True, kw_only=True):
    """Everything about an account's current epoch in one answer."""

    summary: AccountSummary
    positions: list[PositionView]
    open_orders: list[OpenOrder]
    closed_trades: list[ClosedTrade]
    equity_curve: list[EquityPoint]
    performance: PerformanceMetrics


class AccountListing(Report, frozen=True, kw_only=True):
    """One line of ``ListAccounts``."""

    account_id: AccountId
    name: str
    base_currency: str
    equity: Decimal
    cash: Decimal
    version: int


class OrderStatus(enum.StrEnum):
    """Where an order's life is: still working, or how it ended."""

    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class OrderRecord(Report, frozen=True, kw_only=True):
    """An order of the account's history, in whatever state it is: placed (or refused), how
    much filled at what average price, and how it ended (``reason``)."""

    order_id: OrderId
    client_order_id: ClientOrderId | None = None
    symbol: Symbol
    side: OrderSide
    quantity: Decimal
    order_type: OrderType | None = None
    """None for a refused order (it never took a type on the book)."""
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    role: OrderRole | None = None
    source: OrderSource | None = None
    reduce_only: bool = False
    status: OrderStatus
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    """The fills' volume-weighted price (None before the first)."""
    fees: Decimal = ZERO
    """In the quote currency, as the venue charged them."""
    fills: int = 0
    placed_at: datetime
    updated_at: datetime
    reason_code: str = ""
    """A refusal's code (``insufficient_buying_power`` …)."""
    reason: str = ""
    """Why it was refused, cancelled or expired."""


class OrderPage(Report, frozen=True, kw_only=True):
    """Orders, newest first, filtered; ``total`` matched, this page starts at ``offset``."""

    orders: list[OrderRecord]
    total: int
    offset: int


class OrderHistory(Report, frozen=True, kw_only=True):
    """One order with each of its fills, oldest first."""

    order: OrderRecord
    fills: list[OrderFilledV2]


REPLY_PAYLOADS: tuple[type[Report], ...] = (
    OrderRecord,
    OrderPage,
    OrderHistory,
    AccountListing,
    AccountSummary,
    PositionView,
    OpenOrder,
    ClosedTrade,
    EquityPoint,
    PerformanceMetrics,
    AccountReport,
)
"""The structs portfolio queries answer with (alone or in a list)."""
