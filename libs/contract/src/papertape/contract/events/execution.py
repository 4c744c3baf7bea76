"""The simulated venue on the bus: its fill, cost and latency models, and its execution reports.

Reports travel on ``exec.<account>.<report>`` (stream EXECUTION). Every ``report_id`` is derived
from the order id and a sequence (``<order>.fill.<n>``, ``<order>.trigger``, ``<order>.expiry``),
so a replay of the same orders and market produces the same ids, and JetStream's dedup and the
account's fill ids make a repeat harmless. A fill's cost splits into ``spread_cost`` (the touch
against the reference price), ``slippage`` (the fill against the touch) and ``fee``, each named
by the model that made it (``spread_model``, ``slippage_model``, ``fee_model``). Fees and fixed
slippage come from the account's cost schedule (``papertape.contract.costs``).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import (
    NAME,
    TOKEN,
    Bounded,
    Bps,
    Charge,
    Finite,
    Millis,
    Price,
    Quantity,
    Ratio,
    Seed,
    SignedBps,
    Text,
    UtcTime,
)
from papertape.contract.events.base import Event, Query
from papertape.contract.events.orders import Liquidity, OrderSide
from papertape.contract.ids import AccountId, OrderId, Symbol


class SlippageKind(enum.StrEnum):
    """How a taker fill moves away from the touch."""

    FIXED_BPS = "fixed_bps"
    VOLATILITY = "volatility"
    VOLUME_SHARE = "volume_share"
    SQUARE_ROOT = "square_root"


class TriggerSource(enum.StrEnum):
    """Which price of a quote triggers stops (bars always use their path)."""

    BID = "bid"
    ASK = "ask"
    LAST = "last"
    MID = "mid"


class SlippageModel(Bounded, frozen=True, kw_only=True):
    """Slippage: ``bps`` always; plus volatility noise, or volume-share / square-root impact."""

    kind: SlippageKind = SlippageKind.FIXED_BPS
    bps: Bps = Decimal(2)
    volatility_multiplier: Ratio = Decimal(1)
    """VOLATILITY: extra bps = multiplier x recent mean absolute move (bps) x |N(0,1)|."""
    impact: Ratio = Decimal("0.1")
    """VOLUME_SHARE: price x impact x share²; SQUARE_ROOT: price x impact x range x sqrt(share)."""
    seed: Seed = 0


class FeeSchedule(Bounded, frozen=True, kw_only=True):
    """Fees of one order: per share (with a minimum), bps of notional, fixed, maker/taker bps.

    On a fill, the fee terms of the account's cost schedule that priced it (per lot too).
    """

    per_share: Charge = Decimal("0.005")
    minimum: Charge = Decimal(0)
    bps: Bps = Decimal(0)
    fixed: Charge = Decimal(0)
    maker_bps: SignedBps = Decimal(0)
    taker_bps: SignedBps = Decimal(0)
    per_lot: Charge = Decimal(0)
    lot_units: Charge = Decimal(100000)


class FillPolicy(Bounded, frozen=True, kw_only=True):
    """How orders meet the market: touch rules, triggers, size caps and latency."""

    fill_on_touch: bool = False
    """Limits fill when the market touches the price (else only when it trades through)."""
    max_volume_share: Ratio = Decimal(1)
    """A bar fills at most this share of its volume (shared by the orders of the symbol)."""
    cap_at_quote_size: bool = False
    """A quote fills at most its displayed size on the side taken (when it has one)."""
    latency_ms: Millis = 0
    """An order reaches the venue this long after it was placed."""


class ExecutionModels(Bounded, frozen=True, kw_only=True):
    """Everything that priced a fill, carried on the fill so the cost can be audited."""

    slippage: SlippageModel = SlippageModel()
    fees: FeeSchedule = FeeSchedule()
    fills: FillPolicy = FillPolicy()


class ExecutionReportBase(Event, frozen=True, kw_only=True):
    """Something the venue did to one order, at ``ts`` (market time)."""

    report_id: Annotated[str, NAME]
    account_id: AccountId
    order_id: Annotated[OrderId, NAME]
    ts: UtcTime


class OrderFillReported(ExecutionReportBase, frozen=True, kw_only=True):
    """A (partial) fill; ``price`` - ``reference_price`` = spread + slippage, per unit."""

    symbol: Symbol
    side: OrderSide
    price: Price
    quantity: Quantity
    fee: Finite
    liquidity: Liquidity
    reference_price: Charge
    """Mid of the quote, or the bar's path price, before any cost."""
    touch_price: Charge
    """The price on the side taken (ask for buys, bid for sells; the limit for maker fills)."""
    spread_cost: Finite
    """Cash: (touch - reference) x side x quantity."""
    slippage: Finite
    """Cash: (price - touch) x side x quantity."""
    slippage_bps: Finite
    models: ExecutionModels
    remaining: Charge
    """What the order has left to fill at the venue after this fill."""
    fee_model: str = ""
    """The cost terms that priced the fee: their name (``equity``, ``AAPL``, ``account`` …)."""
    slippage_model: str = ""
    """The slippage model's kind (``fixed_bps``, ``volatility`` …); empty for maker fills."""
    spread_model: str = ""
    """``quoted`` (the quote's spread), ``modeled`` (the schedule's, none shown) or ``none``."""
    bid: Decimal | None = None
    """The market's bid at the fill (where a long is worth marking)."""
    ask: Decimal | None = None
    """The market's ask at the fill (where a short is worth marking)."""

    @property
    def cost(self) -> Decimal:
        """Everything the fill cost against the reference price: spread + slippage + fee."""
        return self.spread_cost + self.slippage + self.fee


class OrderTriggerReported(ExecutionReportBase, frozen=True, kw_only=True):
    """A stop, stop-limit or trailing stop was triggered at ``trigger_price`` (its stop level)."""

    symbol: Symbol
    trigger_price: Price
    market_price: Charge


class OrderExpiryReported(ExecutionReportBase, frozen=True, kw_only=True):
    """The venue ended an order: DAY at the close, GTD, IOC/FOK remainders, one-cancels-other."""

    symbol: Symbol
    reason: Text
    unfilled: Charge


ExecutionReport = OrderFillReported | OrderTriggerReported | OrderExpiryReported


class GetWorkingOrders(Query, frozen=True, kw_only=True):
    """The orders the venue is working, of one account or of all (reply result:
    ``WorkingOrders``): what an auditor compares with the accounts' open orders."""

    account_id: Annotated[AccountId, TOKEN] | None = None


class WorkingOrders(msgspec.Struct, frozen=True, kw_only=True):
    """Working orders by account, each account's in arrival order."""

    orders: dict[AccountId, list[OrderId]]
