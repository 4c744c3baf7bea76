"""Fill reports that do not match the order they name: refused, and the order left as it was.

The venue fills an order only within it: at or inside its limit, no more than is left, in its
symbol and on its side. A report outside that is not the venue's word on the order (a forgery,
or a venue fault); it is recorded as refused (FillRejected) and the order keeps working, so a
forged report can neither fill nor end a real order. A refusal for the account's own reasons
(cash, margin, reduce-only) is different: the venue did fill, so the order ends on both sides.
"""

from __future__ import annotations

from papertape.contract.events.account import ApplyFill
from papertape.contract.events.orders import OrderType, RejectReason
from papertape.trading.account.risk import Refusal
from papertape.trading.account.state import Order

MISMATCHES = frozenset(
    {
        RejectReason.UNKNOWN_ORDER,
        RejectReason.INVALID_FILL,
        RejectReason.OVERFILL,
        RejectReason.PRICE_OUTSIDE_LIMIT,
    }
)
"""The reasons that say a report does not match its order (the order is left working)."""

_LIMITED = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def mismatch(cmd: ApplyFill, order: Order) -> Refusal | None:
    """Why a fill report cannot be a fill of ``order`` (None: it can)."""
    if cmd.quantity <= 0 or cmd.price <= 0 or cmd.fee < 0:
        return Refusal(RejectReason.INVALID_FILL, "quantity and price must be positive, fee >= 0")
    if cmd.symbol is not None and cmd.symbol != order.symbol:
        return Refusal(
            RejectReason.INVALID_FILL,
            f"a fill in {cmd.symbol} does not match order {order.order_id} in {order.symbol}",
        )
    if cmd.side is not None and cmd.side is not order.side:
        return Refusal(
            RejectReason.INVALID_FILL,
            f"a {cmd.side} fill does not match order {order.order_id}, a {order.side}",
        )
    if cmd.quantity > order.remaining:
        return Refusal(
            RejectReason.OVERFILL, f"fill of {cmd.quantity} exceeds the {order.remaining} remaining"
        )
    if order.order_type in _LIMITED and order.limit_price is not None:
        worse = (cmd.price - order.limit_price) * order.side.sign
        if worse > 0:
            return Refusal(
                RejectReason.PRICE_OUTSIDE_LIMIT,
                f"fill at {cmd.price} is worse than the limit {order.limit_price}",
            )
    return None
