"""Account events: what the portfolio recorded, with the upcasters of their older versions."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.bounds import UtcTime
from papertape.contract.codec import register_upcaster
from papertape.contract.costs import CostModel, CostSchedule, schedule_from
from papertape.contract.events.account.commands import (
    SetCostModel,
    SetCostModelV2,
)
from papertape.contract.events.base import Event
from papertape.contract.events.orders import (
    ExitReason,
    Liquidity,
    OrderRole,
    OrderSide,
    OrderSource,
    OrderType,
    RejectReason,
    TimeInForce,
)
from papertape.contract.ids import AccountId, ClientOrderId, FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits

# --- events --------------------------------------------------------------------------------


class AccountEventBase(Event, frozen=True, kw_only=True):
    """Something that happened to one account, at ``ts``."""

    account_id: AccountId
    ts: UtcTime


class AccountOpened(AccountEventBase, frozen=True, kw_only=True):
    """An account was opened with its starting cash, limits and costs."""

    name: str
    base_currency: str
    initial_cash: Decimal
    allow_short: bool
    margin_requirement: Decimal
    limits: RiskLimits = RiskLimits()
    cost_model: CostModel = CostModel()


class FundsDeposited(AccountEventBase, frozen=True, kw_only=True):
    """Cash came in."""

    amount: Decimal
    reference: str = ""


class FundsWithdrawn(AccountEventBase, frozen=True, kw_only=True):
    """Cash went out."""

    amount: Decimal
    reference: str = ""


class WithdrawalRejected(AccountEventBase, frozen=True, kw_only=True):
    """A withdrawal was refused."""

    amount: Decimal
    reason_code: RejectReason
    message: str


class CommandRejected(AccountEventBase, frozen=True, kw_only=True):
    """A non-order command was refused (``command`` is its wire name)."""

    command: str
    reason_code: RejectReason
    message: str


class RiskLimitsSet(AccountEventBase, frozen=True, kw_only=True):
    """The risk limits changed."""

    limits: RiskLimits


class CostModelSet(AccountEventBase, frozen=True, kw_only=True):
    """The cost model changed (v1: upcast to ``CostModelSetV2``)."""

    cost_model: CostModel


class CostModelSetV2(AccountEventBase, frozen=True, kw_only=True):
    """The cost schedule changed: fills and reserves from now on use it."""

    schedule: CostSchedule


class AccountReset(AccountEventBase, frozen=True, kw_only=True):
    """A new epoch began with ``initial_cash``; positions, orders and statistics start afresh."""

    epoch: int
    initial_cash: Decimal
    reason: str = ""


class OrderPlaced(AccountEventBase, frozen=True, kw_only=True):
    """An order passed pre-trade risk; children (``parent_order_id`` set) work once it fills."""

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
    expire_at: UtcTime | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reduce_only: bool = False
    role: OrderRole = OrderRole.ENTRY
    parent_order_id: OrderId | None = None
    source: OrderSource = OrderSource.MANUAL
    reference_price: Decimal
    reserved: Decimal = Decimal(0)
    """In the account's base currency: the quote-currency reserve at ``rate``."""
    opening: bool = True
    rate: Decimal = Decimal(1)
    """Base-currency units per unit of the instrument's quote currency when it was placed."""
    opening_quantity: Decimal | None = None
    """The part that opens or adds exposure, beyond what is left to close when it is placed;
    ``reserved`` covers it, and fills take the closing part first (None, in events before it
    was recorded: all of the order when ``opening``, else none)."""


class OrderRejected(AccountEventBase, frozen=True, kw_only=True):
    """An order was refused, with a machine-readable reason."""

    order_id: OrderId
    client_order_id: ClientOrderId | None = None
    symbol: Symbol
    side: OrderSide
    quantity: Decimal
    reason_code: RejectReason
    message: str


class OrderCancelled(AccountEventBase, frozen=True, kw_only=True):
    """An order stopped working before it filled completely."""

    order_id: OrderId
    reason: str = ""


class OrderExpired(AccountEventBase, frozen=True, kw_only=True):
    """The venue expired an order."""

    order_id: OrderId
    reason: str = ""


class OrderTriggered(AccountEventBase, frozen=True, kw_only=True):
    """A stop order's trigger was touched: it now works as a market (or limit) order."""

    order_id: OrderId
    trigger_price: Decimal


class _Fill(AccountEventBase, frozen=True, kw_only=True):
    """What every version of a fill says (the versions below are the messages)."""

    order_id: OrderId
    fill_id: FillId
    symbol: Symbol
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal = Decimal(0)
    liquidity: Liquidity = Liquidity.TAKER
    slippage: Decimal = Decimal(0)
    """Cash the fill paid beyond the touch (in its price already, like ``spread_cost``)."""
    spread_cost: Decimal = Decimal(0)
    """Cash the fill paid for the spread: the touch against the reference (mid) price."""
    fee_model: str = ""
    """The cost terms that priced the fee (``equity``, ``account``, ``AAPL`` …)."""
    slippage_model: str = ""
    spread_model: str = ""
    realized_pnl: Decimal = Decimal(0)
    position_quantity: Decimal
    position_avg_price: Decimal
    cash_after: Decimal
    order_remaining: Decimal
    bid: Decimal | None = None
    """The market's bid at the fill: a long position is marked there right after."""
    ask: Decimal | None = None
    """The market's ask at the fill: a short position is marked there right after."""


class OrderFilled(_Fill, frozen=True, kw_only=True):
    """A (partial) fill of schema v1, booked without conversion (upcast to ``OrderFilledV2``)."""


class OrderFilledV2(_Fill, frozen=True, kw_only=True):
    """A (partial) fill; ``realized_pnl`` is gross of fees, average-cost method.

    ``price``, ``fee``, ``slippage`` and ``spread_cost`` are in the instrument's quote currency,
    as the venue reported them; ``rate`` converts them to the account's base currency (base
    units per quote unit). ``realized_pnl`` and ``cash_after`` are in the base currency.
    """

    rate: Decimal
    """Base-currency units per unit of the quote currency at the fill (1 when they are one)."""


class PositionClosed(AccountEventBase, frozen=True, kw_only=True):
    """The account closed a position itself at its mark (a reset), with no venue involved."""

    symbol: Symbol
    side: OrderSide
    """The side of the closing trade (sell closes a long)."""
    quantity: Decimal
    price: Decimal
    """The mark the position was closed at."""
    exit_reason: ExitReason
    closing_id: OrderId
    """The id the closed trade records as its exit order (no order was placed)."""
    realized_pnl: Decimal
    cash_after: Decimal
    rate: Decimal = Decimal(1)
    """Base-currency units per unit of the quote currency it was closed at (the mark's)."""


class FillRejected(AccountEventBase, frozen=True, kw_only=True):
    """A fill report the account could not accept (unknown order, overfill, outside the limit)."""

    fill_id: FillId
    order_id: OrderId
    reason_code: RejectReason
    message: str


class PositionMarked(AccountEventBase, frozen=True, kw_only=True):
    """A new mark for a symbol the account holds or works orders in."""

    symbol: Symbol
    price: Decimal
    """Last or mid: what risk checks price orders at."""
    bid: Decimal | None = None
    """The market's bid: a long position stands there (None: at ``price``)."""
    ask: Decimal | None = None
    """The market's ask: a short position stands there."""


class CircuitBreakerTripped(AccountEventBase, frozen=True, kw_only=True):
    """The daily loss limit was hit: new entries are refused until the next UTC day."""

    day_start_equity: Decimal
    equity: Decimal
    loss_pct: Decimal


class TradingHalted(AccountEventBase, frozen=True, kw_only=True):
    """The kill switch was thrown."""

    reason: str


class TradingResumed(AccountEventBase, frozen=True, kw_only=True):
    """The kill switch was lifted."""

    reason: str = ""


# Queries about accounts live in papertape.contract.events.portfolio (the service answers them).


AccountEvent = (
    AccountOpened
    | FundsDeposited
    | FundsWithdrawn
    | WithdrawalRejected
    | CommandRejected
    | RiskLimitsSet
    | CostModelSet
    | CostModelSetV2
    | AccountReset
    | OrderPlaced
    | OrderRejected
    | OrderCancelled
    | OrderExpired
    | OrderTriggered
    | OrderFilled
    | OrderFilledV2
    | FillRejected
    | PositionClosed
    | PositionMarked
    | CircuitBreakerTripped
    | TradingHalted
    | TradingResumed
)


AccountRejection = WithdrawalRejected | CommandRejected | OrderRejected | FillRejected
"""The business refusals among the account's events: a command decided, and the answer no."""


def cost_model_set_v2(old: CostModelSet) -> CostModelSetV2:
    """A v1 CostModelSet as the schedule it stands for (see ``schedule_from``)."""
    return CostModelSetV2(
        account_id=old.account_id, ts=old.ts, schedule=schedule_from(old.cost_model)
    )


def set_cost_model_v2(old: SetCostModel) -> SetCostModelV2:
    """A v1 SetCostModel as the schedule it stands for (see ``schedule_from``)."""
    return SetCostModelV2(account_id=old.account_id, schedule=schedule_from(old.cost_model))


def order_filled_v2(old: OrderFilled) -> OrderFilledV2:
    """A v1 fill as booked: every amount as if in the base currency, so at a rate of 1.

    v1 never converted; that was right only where the quote currency is the base currency.
    """
    return OrderFilledV2(**msgspec.structs.asdict(old), rate=Decimal(1))


register_upcaster(CostModelSet, cost_model_set_v2)
register_upcaster(OrderFilled, order_filled_v2)
register_upcaster(SetCostModel, set_cost_model_v2)
