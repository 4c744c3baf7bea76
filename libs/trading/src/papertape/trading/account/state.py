"""An account's state: what replaying its events gives, plus snapshots of it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from papertape.contract.costs import CostSchedule
from papertape.contract.events.orders import (
    OrderRole,
    OrderSide,
    OrderSource,
    OrderType,
    TimeInForce,
)
from papertape.contract.events.reports import ClosedTrade, EquityPoint
from papertape.contract.ids import AccountId, ClientOrderId, FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.contract.money import ZERO
from papertape.trading.account.journal import History, Registry

# Bump when AccountState's shape or meaning changes: older snapshots are then ignored.
# 2: trades_today counts fills; the curve starts at the opening.
# 3: curve points record cash flows; the high-water mark is scaled on flows; trades name
#    their round trip.
# 4: positions carry the rates of their quote currency (money is in the base currency);
#    orders the rate they were placed at.
# 5: orders record the part that opens (opening_quantity); their reserve follows that part.
#    (4 went out with the rates alone: its snapshots lack the opening part, so they are ignored.)
STATE_SCHEMA_VERSION = 5
_ONE = Decimal(1)


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """A working order and how much of it has filled."""

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
    rate: Decimal = _ONE
    opening_quantity: Decimal = ZERO
    """The part that opens or adds exposure (the rest closes the position it was placed on)."""
    placed_at: datetime
    filled_quantity: Decimal = ZERO
    triggered: bool = False

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.quantity - self.filled_quantity

    @property
    def opening_remaining(self) -> Decimal:
        """The opening part still to fill: fills take the closing part first, as they close."""
        return min(self.remaining, self.opening_quantity)

    @property
    def closing_remaining(self) -> Decimal:
        """The closing part still to fill."""
        return self.remaining - self.opening_remaining

    @property
    def reserved_now(self) -> Decimal:
        """Cash still reserved: the placement reserve scaled to the opening part unfilled."""
        if self.reserved == 0 or self.filled_quantity == 0:
            return self.reserved
        if self.opening_quantity <= 0:
            return ZERO
        return self.reserved * self.opening_remaining / self.opening_quantity


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """A net position in one symbol (signed quantity, average-cost price).

    Prices are in the instrument's quote currency, money in the account's base currency. The
    principal was booked at ``book_rate`` (the fills' rates, weighted by their cost); the
    price move since is worth what it is at ``rate``, the quote currency's latest rate. With
    one currency both rates are 1 and the value is quantity x mark.
    """

    symbol: Symbol
    quantity: Decimal = ZERO
    avg_price: Decimal = ZERO
    mark: Decimal = ZERO
    opened_at: datetime | None = None
    stop: Decimal | None = None
    entry_fees: Decimal = ZERO
    entry_slippage: Decimal = ZERO
    entry_spread: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    rate: Decimal = _ONE
    book_rate: Decimal = _ONE

    @property
    def market_value(self) -> Decimal:
        """Signed value at the mark in the base currency: principal as booked plus the move."""
        return self.value_at(self.mark, self.rate)

    def value_at(self, price: Decimal, rate: Decimal) -> Decimal:
        """Signed value in the base currency at ``price`` with its quote currency at ``rate``."""
        value = self.quantity * price * rate
        if self.book_rate != rate:
            value += self.quantity * self.avg_price * (self.book_rate - rate)
        return value

    @property
    def notional(self) -> Decimal:
        """Signed quantity x mark at the current rate (gross exposure in the base currency)."""
        return self.quantity * self.mark * self.rate

    @property
    def unrealized_pnl(self) -> Decimal:
        """Profit or loss at the mark against the average price, at the current rate."""
        return self.quantity * (self.mark - self.avg_price) * self.rate

    @property
    def open_risk(self) -> Decimal:
        """What is lost if the stop is hit (0 without a stop or once the stop is past entry)."""
        if self.stop is None or self.quantity == 0:
            return ZERO
        return max(ZERO, (self.avg_price - self.stop) * self.quantity) * self.rate


class AccountCore(msgspec.Struct, frozen=True, kw_only=True):
    """The account's fields that a snapshot stores as they are."""

    account_id: AccountId = AccountId("")
    is_open: bool = False
    name: str = ""
    base_currency: str = "USD"
    epoch: int = 0
    opened_at: datetime | None = None
    epoch_started_at: datetime | None = None
    initial_cash: Decimal = ZERO
    net_deposits: Decimal = ZERO
    cash: Decimal = ZERO
    allow_short: bool = False
    margin_requirement: Decimal = Decimal("0.5")
    limits: RiskLimits = RiskLimits()
    costs: CostSchedule = CostSchedule()
    halted: bool = False
    halt_reason: str = ""
    positions: dict[Symbol, Position] = {}
    orders: dict[OrderId, Order] = {}
    marks: dict[Symbol, Decimal] = {}
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    high_water_mark: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO
    day: date | None = None
    day_start_equity: Decimal = ZERO
    trades_today: int = 0
    last_entry_at: datetime | None = None
    breaker_tripped: bool = False
    last_point: EquityPoint | None = None
    version: int = 0


class AccountState(AccountCore, frozen=True, kw_only=True):
    """Everything decide needs about one account; evolve returns a new one per event.

    Dicts are copied only where an event touches them (positions, orders, marks stay small);
    the long histories are append-only ``History``/``Registry`` views, O(1) per event.
    """

    order_ids: Registry[OrderId, bool] = msgspec.field(default_factory=Registry)
    client_order_ids: Registry[ClientOrderId, OrderId] = msgspec.field(default_factory=Registry)
    fill_ids: Registry[FillId, OrderId] = msgspec.field(default_factory=Registry)
    closed_trades: History[ClosedTrade] = msgspec.field(default_factory=History)
    curve: History[EquityPoint] = msgspec.field(default_factory=History)

    @property
    def positions_value(self) -> Decimal:
        """Sum of signed position values at their marks (in the base currency)."""
        return sum((p.market_value for p in self.positions.values()), ZERO)

    @property
    def equity(self) -> Decimal:
        """Cash plus every position at its mark (a short's negative value is its liability)."""
        return self.cash + self.positions_value

    @property
    def exposure(self) -> Decimal:
        """Gross value of all positions at their marks (in the base currency)."""
        return sum((abs(p.notional) for p in self.positions.values()), ZERO)

    @property
    def reserved(self) -> Decimal:
        """Cash held back for working orders (price plus estimated fees)."""
        return sum((o.reserved_now for o in self.orders.values()), ZERO)

    @property
    def short_collateral(self) -> Decimal:
        """Short sale proceeds plus margin, which cannot be spent while the short is open."""
        factor = 1 + self.margin_requirement
        return sum(
            (-p.market_value * factor for p in self.positions.values() if p.quantity < 0),
            ZERO,
        )

    @property
    def available_funds(self) -> Decimal:
        """Buying power: cash less reserves for open orders and collateral for shorts."""
        return self.cash - self.reserved - self.short_collateral

    @property
    def unrealized_pnl(self) -> Decimal:
        """Open profit or loss of every position at its mark."""
        return sum((p.unrealized_pnl for p in self.positions.values()), ZERO)

    @property
    def open_risk(self) -> Decimal:
        """Portfolio heat in money: the sum of open risk of positions with stops."""
        return sum((p.open_risk for p in self.positions.values()), ZERO)

    @property
    def equity_curve(self) -> list[EquityPoint]:
        """Every curve point of this epoch, including the latest, unfinished one."""
        points = self.curve.to_list()
        if self.last_point is not None:
            points.append(self.last_point)
        return points


INITIAL_STATE = AccountState()


class AccountSnapshot(AccountCore, frozen=True, kw_only=True):
    """A msgspec-encodable copy of an AccountState, tagged with the schema version."""

    schema_version: int = STATE_SCHEMA_VERSION
    order_ids: dict[OrderId, bool] = {}
    client_order_ids: dict[ClientOrderId, OrderId] = {}
    fill_ids: dict[FillId, OrderId] = {}
    closed_trades: list[ClosedTrade] = []
    curve: list[EquityPoint] = []


def _core_fields(state: AccountCore) -> dict[str, Any]:
    return {name: getattr(state, name) for name in AccountCore.__struct_fields__}


def to_snapshot(state: AccountState) -> AccountSnapshot:
    """The state as a snapshot (encode it with the common codec)."""
    return AccountSnapshot(
        **_core_fields(state),
        order_ids=state.order_ids.to_dict(),
        client_order_ids=state.client_order_ids.to_dict(),
        fill_ids=state.fill_ids.to_dict(),
        closed_trades=state.closed_trades.to_list(),
        curve=state.curve.to_list(),
    )


def from_snapshot(snapshot: AccountSnapshot) -> AccountState | None:
    """The state a snapshot holds, or None when it was taken by another schema version."""
    if snapshot.schema_version != STATE_SCHEMA_VERSION:
        return None
    return AccountState(
        **_core_fields(snapshot),
        order_ids=Registry.of(snapshot.order_ids),
        client_order_ids=Registry.of(snapshot.client_order_ids),
        fill_ids=Registry.of(snapshot.fill_ids),
        closed_trades=History(list(snapshot.closed_trades)),
        curve=History(list(snapshot.curve)),
    )
