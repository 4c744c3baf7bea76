"""HTTP request bodies: outside shapes, parsed and bounded at the edge, turned into commands.

They never enter the contract: each becomes the contract's command (``PlaceOrder``,
``Deposit`` …) with the account from the path, and replies are the contract's structs. Every
number and time is bounded here by the contract's own aliases, so a bad value is refused with
400 naming the field before any service sees it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec

from papertape.contract.bounds import (
    NAME,
    TOKEN,
    Bounded,
    Capital,
    Cash,
    Currency,
    Percent,
    Price,
    Quantity,
    Ratio,
    UtcTime,
)
from papertape.contract.costs import CostTerms
from papertape.contract.events.account import (
    DEFAULT_INITIAL_CASH,
    AccountEvent,
    OrderFilledV2,
)
from papertape.contract.events.apikeys import ApiScope
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.contract.events.reports import ClosedTrade, OpenOrder, OrderRecord, OrderStatus
from papertape.contract.events.sessions import StartSession
from papertape.contract.events.sessions.commands import RiskOverrides
from papertape.contract.ids import AccountId, ClientOrderId, OrderId, Symbol
from papertape.contract.instruments import AssetClass
from papertape.contract.limits import RiskLimits

AccountKey = Annotated[AccountId, TOKEN]
Name = Annotated[str, NAME]
PathId = Annotated[
    OrderId, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^/\x00-\x1f\x7f]+$")
]
"""An order id the caller chooses: it is read and cancelled at /orders/{order_id}, so it holds
no ``/`` (which no path parameter can carry) and no control character."""
_LEGIBLE = r"^[^\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]*$"
"""One line that reads as it is: no control character (a newline, a terminal escape such as
``\x1b[31m``) and no bidirectional override, which would print as something else in an audit's
output, a terminal or the dashboard."""
Label = Annotated[str, msgspec.Meta(max_length=1000, pattern=_LEGIBLE)]
"""A reference, a reason or a key's label: one legible line."""


class OpenAccountBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Open a paper account."""

    account_id: AccountKey
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=_LEGIBLE)]
    base_currency: Currency = "USD"
    initial_cash: Capital = DEFAULT_INITIAL_CASH
    allow_short: bool = False
    margin_requirement: Ratio = Decimal("0.5")


class CashBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A deposit or a withdrawal."""

    amount: Cash
    reference: Label = ""


class ResetBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Start a new epoch (``initial_cash`` None: the account's initial cash)."""

    initial_cash: Capital | None = None
    reason: Label = ""


class ReasonBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why (kept in the log)."""

    reason: Label = ""


class PlaceOrderBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An order: every type, time in force and bracket the command line offers.

    ``client_order_id`` makes a retry safe: the same id again returns the first result.
    """

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
    client_order_id: Annotated[ClientOrderId, NAME] | None = None
    order_id: PathId | None = None
    """The order's id (default: a new UUIDv7)."""


class ClosePositionBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Close a position at market: all of it (``quantity`` None) or part."""

    quantity: Quantity | None = None
    client_order_id: Annotated[ClientOrderId, NAME] | None = None


class MoveExitsBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """New stop-loss and/or take-profit prices for a position."""

    stop_loss: Price | None = None
    take_profit: Price | None = None


class IssueKeyBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new API key: for one account, or (operator's keys) for every account."""

    account_id: AccountKey | None = None
    scopes: Annotated[tuple[ApiScope, ...], msgspec.Meta(min_length=1, max_length=3)] = (
        ApiScope.READ,
    )
    label: Label = ""


# The contract's own structs taken as bodies, refusing a field they do not have: the contract's
# structs ignore unknown fields (a newer writer may add one), but a body's unknown field is the
# caller's typo, and ignoring it replaced the value it meant with the default (a PUT of
# {"max_position_percent": "50"} set max_position_pct back to 10, a misspelt schedule was empty).


class RiskLimitsBody(RiskLimits, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An account's pre-trade risk limits (percentages of equity, 0-100)."""


class CostTermsBody(CostTerms, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fee, slippage and spread terms of one asset class or instrument."""


class CostScheduleBody(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An account's cost terms: per asset class, and per-instrument overrides (which win)."""

    asset_classes: dict[AssetClass, CostTermsBody] = {}
    instruments: dict[Annotated[Symbol, NAME], CostTermsBody] = {}
    """Keyed by symbol: 1-200 characters, as a symbol is everywhere else."""


class RiskOverridesBody(RiskOverrides, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Values that replace a mode's preset (None: keep the preset)."""


class StartSessionBody(
    StartSession, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="start_session.v1"
):
    """Start a bot: a strategy with parameters on symbols of one timeframe, for an account."""

    overrides: RiskOverridesBody = RiskOverridesBody()


_Contract = TypeVar("_Contract")


def as_contract(body: Any, kind: type[_Contract]) -> _Contract:
    """The contract's struct a body stands for (its fields, nested ones too, in ``kind``)."""
    return msgspec.convert(msgspec.to_builtins(body), kind)


class IssuedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key just issued: ``key`` is shown this once and never again."""

    key: str
    key_id: str
    account_id: str | None
    scopes: tuple[ApiScope, ...]
    label: str


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    """A key as listed (never its secret)."""

    key_id: str
    account_id: str | None
    scopes: tuple[ApiScope, ...]
    label: str
    revoked: bool


class ActivityPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the account's events, oldest first; pass ``next_cursor`` as ``cursor``."""

    items: list[Envelope[AccountEvent]]
    next_cursor: str | None = None
    """None: this is the last page (for now)."""


class TradesPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of closed trades, oldest first; pass ``next_cursor`` as ``cursor``."""

    items: list[ClosedTrade]
    next_cursor: str | None = None
    """None: this is the last page."""


class OrderDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One order: its record (status, filled quantity, average price), its fills, and how it
    works now (while it is working)."""

    order: OrderRecord
    status: OrderStatus
    """``working``, ``filled``, ``cancelled``, ``expired`` or ``rejected``."""
    working: OpenOrder | None = None
    fills: list[OrderFilledV2]


class OrdersPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of orders, newest first; pass ``next_cursor`` as ``cursor``."""

    items: list[OrderRecord]
    total: int
    """How many orders matched the filters."""
    next_cursor: str | None = None
    """None: this is the last page."""


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """The process is up."""

    status: str = "ok"


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the gateway can serve: NATS connected and every service it needs answering."""

    ready: bool
    nats: bool
    services: dict[str, bool]


class MovedExits(msgspec.Struct, frozen=True, kw_only=True):
    """The exits after a move: orders cancelled and placed."""

    cancelled: list[str]
    placed: list[str]
