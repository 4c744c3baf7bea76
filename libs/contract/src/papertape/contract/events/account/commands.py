"""Account commands: what people, bots, the venue and the portfolio itself ask of an account."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from papertape.contract.bounds import (
    NAME,
    TOKEN,
    Capital,
    Cash,
    Charge,
    Currency,
    Finite,
    Percent,
    Price,
    Quantity,
    Ratio,
    Text,
    UtcTime,
)
from papertape.contract.costs import CostModel, CostSchedule
from papertape.contract.events.base import Command
from papertape.contract.events.orders import (
    Liquidity,
    OrderSide,
    OrderSource,
    OrderType,
    TimeInForce,
)
from papertape.contract.ids import AccountId, ClientOrderId, FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits

DEFAULT_INITIAL_CASH = Decimal(10000)
ACCOUNT_STREAM_PREFIX = "account-"
"""Every account's event-log stream id starts with this."""


def account_stream(account_id: str) -> str:
    """The event-log stream that holds an account."""
    return f"{ACCOUNT_STREAM_PREFIX}{account_id}"


AccountRef = Annotated[AccountId, TOKEN]
"""An account id as a command or query names it: it becomes a subject token."""
OrderRef = Annotated[OrderId, NAME]


# --- commands ------------------------------------------------------------------------------


class AccountCommandBase(Command, frozen=True, kw_only=True):
    """A command addressed to one account."""

    account_id: AccountRef


class OpenAccount(AccountCommandBase, frozen=True, kw_only=True):
    """Open a paper account; shorts need ``allow_short`` and hold ``margin_requirement`` x value."""

    name: Text
    base_currency: Currency = "USD"
    initial_cash: Capital = DEFAULT_INITIAL_CASH
    allow_short: bool = False
    margin_requirement: Ratio = Decimal("0.5")


class Deposit(AccountCommandBase, frozen=True, kw_only=True):
    """Add cash."""

    amount: Cash
    reference: Text = ""


class Withdraw(AccountCommandBase, frozen=True, kw_only=True):
    """Take cash out (only what is not reserved or held as margin)."""

    amount: Cash
    reference: Text = ""


class SetRiskLimits(AccountCommandBase, frozen=True, kw_only=True):
    """Replace the account's risk limits."""

    limits: RiskLimits


class SetCostModel(AccountCommandBase, frozen=True, kw_only=True):
    """Replace the account's cost model (v1: upcast to ``SetCostModelV2``)."""

    cost_model: CostModel


class SetCostModelV2(AccountCommandBase, frozen=True, kw_only=True):
    """Replace the account's cost schedule (the venue reads it from CostModelSetV2)."""

    schedule: CostSchedule


class ResetAccount(AccountCommandBase, frozen=True, kw_only=True):
    """Start a new epoch with fresh cash; the log keeps every earlier event."""

    initial_cash: Capital | None = None
    reason: Text = ""


class PlaceOrder(AccountCommandBase, frozen=True, kw_only=True):
    """Ask for an order; a bracket's children get ids ``<order_id>-sl`` and ``<order_id>-tp``."""

    order_id: OrderRef
    client_order_id: Annotated[ClientOrderId, NAME] | None = None
    symbol: Annotated[Symbol, NAME]
    side: OrderSide
    quantity: Quantity
    order_type: OrderType = OrderType.MARKET
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_amount: Price | None = None
    trail_percent: Percent | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at: UtcTime | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    reduce_only: bool = False
    source: OrderSource = OrderSource.MANUAL


class CancelOrder(AccountCommandBase, frozen=True, kw_only=True):
    """Cancel a working order (and its bracket children)."""

    order_id: OrderRef
    reason: Text = ""


class MoveExits(AccountCommandBase, frozen=True, kw_only=True):
    """Move a position's stop-loss, take-profit or both, as one decision of the account.

    The working exits of each role moved (bracket children, reduce-only stops and limits on the
    closing side) are cancelled and reduce-only exits placed at the new prices for the
    position's quantity: a stop ``<order_id>-sl`` and a limit ``<order_id>-tp``. When a new exit
    is refused the move is (one CommandRejected) and the old exits stay working.
    """

    order_id: OrderRef
    """What the new exits' ids are made of; a move retried with it moves nothing again."""
    symbol: Annotated[Symbol, NAME]
    stop_loss: Price | None = None
    take_profit: Price | None = None
    reason: Text = ""
    source: OrderSource = OrderSource.MANUAL


class HaltTrading(AccountCommandBase, frozen=True, kw_only=True):
    """The kill switch: refuse every new order until resumed."""

    reason: Text


class ResumeTrading(AccountCommandBase, frozen=True, kw_only=True):
    """Lift the kill switch."""

    reason: Text = ""


class ApplyFill(AccountCommandBase, frozen=True, kw_only=True):
    """A fill reported by the venue; ``fill_id`` makes it idempotent."""

    fill_id: Annotated[FillId, NAME]
    order_id: OrderRef
    price: Price
    quantity: Quantity
    fee: Finite = Decimal(0)
    """Negative for a maker rebate."""
    liquidity: Liquidity = Liquidity.TAKER
    slippage: Finite = Decimal(0)
    spread_cost: Finite = Decimal(0)
    fee_model: Text = ""
    slippage_model: Text = ""
    spread_model: Text = ""
    ts: UtcTime
    bid: Charge | None = None
    """The market's bid when the fill happened (None: unknown, the fill price marks)."""
    ask: Charge | None = None
    """The market's ask when the fill happened."""
    symbol: Annotated[Symbol, NAME] | None = None
    """The symbol the venue filled (None: not said, as before it was): must be the order's."""
    side: OrderSide | None = None
    """The side the venue filled (None: not said): must be the order's."""


class ApplyMark(AccountCommandBase, frozen=True, kw_only=True):
    """A new mark price for a symbol."""

    symbol: Annotated[Symbol, NAME]
    price: Charge
    """A mark of 0 (a quote without a bid) is ignored by the account; a negative one refused."""
    ts: UtcTime
    bid: Charge | None = None
    """The market's bid: a long position stands there (None: at ``price``)."""
    ask: Charge | None = None
    """The market's ask: a short position stands there (None: at ``price``)."""


class ExpireOrder(AccountCommandBase, frozen=True, kw_only=True):
    """The venue expired an order (DAY at the close, GTD, the rest of an IOC, an unfilled FOK)."""

    order_id: OrderRef
    reason: Text = ""
    ts: UtcTime


class TriggerOrder(AccountCommandBase, frozen=True, kw_only=True):
    """The venue triggered a stop, stop-limit or trailing stop."""

    order_id: OrderRef
    trigger_price: Price
    ts: UtcTime


AccountCommand = (
    OpenAccount
    | Deposit
    | Withdraw
    | SetRiskLimits
    | SetCostModel
    | SetCostModelV2
    | ResetAccount
    | PlaceOrder
    | CancelOrder
    | MoveExits
    | HaltTrading
    | ResumeTrading
    | ApplyFill
    | ApplyMark
    | ExpireOrder
    | TriggerOrder
)
