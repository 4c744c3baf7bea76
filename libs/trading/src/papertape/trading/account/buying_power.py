"""What a fill opens, checked when it fills: a margin account keeps within its buying power.

At placement an order's opening part is reserved and checked against the entry limits (risk).
At fill time two things can differ: the price (a gap past the reserve) and the part that opens
(another order closed the position first, so an exit now opens one). A cash account is held to
cash >= 0 and no short on every fill (executions). A margin account is held, on every fill that
opens or adds exposure, to available funds (cash less reserves and short collateral) >= 0 after
it: a buy is checked against cash as a short sale is against its margin. A fill that only closes
is never refused: an exit is always let through. Amounts are in the base currency: the state
after the fill has booked it at the fill's rate.
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.orders import OrderSide, RejectReason
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.closing import closable
from papertape.trading.account.risk import Refusal
from papertape.trading.account.state import AccountState, Order


def fill_opens(state: AccountState, order: Order, quantity: Decimal) -> Decimal:
    """What a fill of ``quantity`` opens or adds beyond the position it meets."""
    return max(ZERO, quantity - closable(state, order.symbol, order.side))


def unplanned(state: AccountState, order: Order, quantity: Decimal) -> Decimal:
    """What a fill opens beyond the opening part it was placed with (never checked as an entry).

    A fill takes the order's closing part first; what it opens past the rest of the opening
    part is exposure no check has seen (the position was closed by something else first).
    """
    planned = max(ZERO, quantity - order.closing_remaining)
    return max(ZERO, fill_opens(state, order, quantity) - planned)


def margin_refusal(
    before: AccountState, after: AccountState, order: Order, quantity: Decimal
) -> Refusal | None:
    """Why a margin account cannot take a fill that opens (None: it can, or it only closes).

    Any opening fill must leave buying power >= 0; what it opens beyond its planned opening
    part must also keep the position within the position limit, as an entry would.
    """
    if not before.allow_short or fill_opens(before, order, quantity) == 0:
        return None
    if unplanned(before, order, quantity) > 0:
        refusal = _position_refusal(after, order)
        if refusal is not None:
            return refusal
    available = after.available_funds
    if available >= 0:
        return None
    if order.side is OrderSide.BUY:
        reason, what = RejectReason.INSUFFICIENT_BUYING_POWER, "buying power"
    else:
        reason, what = RejectReason.INSUFFICIENT_MARGIN, "margin"
    return Refusal(reason, f"the fill would leave {available:.2f} of {what} available")


def _position_refusal(after: AccountState, order: Order) -> Refusal | None:
    position = after.positions.get(order.symbol)
    # At the fill's rate, as an entry's position value is at its placement rate (``risk``).
    value = abs(position.notional) if position is not None else ZERO
    max_value = after.equity * after.limits.max_position_pct / HUNDRED
    if value <= max_value:
        return None
    return Refusal(
        RejectReason.MAX_POSITION_SIZE,
        f"the fill would open a position of {value:.2f}, beyond {after.limits.max_position_pct}% "
        f"of equity ({max_value:.2f})",
    )
