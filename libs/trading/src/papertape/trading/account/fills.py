"""Position accounting for a fill, by the average-cost method.

Adding to a position moves its average price to the quantity-weighted mean; reducing it
realizes ``closed quantity x (fill price - average price)`` (sign-adjusted for shorts) and
leaves the average unchanged; a fill larger than the position closes it (realizing P&L)
and opens the remainder on the other side at the fill price. Realized P&L is gross: fees
are charged to cash as they occur and shared out to closed trades pro rata.

Prices are in the quote currency; money (cash, fees, P&L) in the base currency, at the fill's
``rate``. An opening fill books its principal at its rate (the position's ``book_rate``); a
closing one returns that principal as booked and realizes the price move at its own rate,
so a round trip leaves cash changed by its P&L converted at the closing rate, less fees.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.orders import ExitReason, OrderSide
from papertape.contract.events.reports import ClosedTrade
from papertape.contract.money import ZERO
from papertape.trading.account.state import Order, Position
from papertape.trading.account.trades import closed_trade, exit_reason_for

_ONE = Decimal(1)


class FillOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A position after a fill, what the fill realized, and the trade it closed."""

    position: Position
    realized_pnl: Decimal
    cash_change: Decimal
    closed: ClosedTrade | None = None


def fill_position(
    position: Position | None,
    order: Order,
    *,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    ts: datetime,
    slippage: Decimal = ZERO,
    spread: Decimal = ZERO,
    exit_reason: ExitReason | None = None,
    rate: Decimal = _ONE,
) -> FillOutcome:
    """Apply ``quantity`` of ``order`` at ``price`` to ``position`` (None: flat).

    ``fee``, ``slippage`` and ``spread`` are in the quote currency, converted at ``rate``;
    ``slippage`` and ``spread`` are in the price already; like fees, they go to closed trades.
    ``exit_reason`` names why a closed trade closed when the order does not say (a reset).
    """
    pos = position if position is not None else Position(symbol=order.symbol, rate=rate)
    if rate != _ONE:
        fee, slippage, spread = fee * rate, slippage * rate, spread * rate
    signed = quantity * order.side.sign
    held = pos.quantity
    if held == 0 or (held > 0) == (signed > 0):
        new_quantity = held + signed
        avg = (abs(held) * pos.avg_price + quantity * price) / abs(new_quantity)
        opening = held == 0
        grown = msgspec.structs.replace(
            pos,
            quantity=new_quantity,
            avg_price=avg,
            mark=price,
            opened_at=ts if opening else pos.opened_at,
            stop=order.stop_loss if opening or pos.stop is None else pos.stop,
            entry_fees=pos.entry_fees + fee,
            entry_slippage=pos.entry_slippage + slippage,
            entry_spread=pos.entry_spread + spread,
            rate=rate,
            book_rate=_booked_rate(pos, quantity, price, rate, avg, new_quantity),
        )
        cash_change = -signed * price * rate - fee
        return FillOutcome(position=grown, realized_pnl=ZERO, cash_change=cash_change)

    direction = OrderSide.BUY if held > 0 else OrderSide.SELL
    closing = min(quantity, abs(held))
    remainder = quantity - closing
    realized = closing * (price - pos.avg_price) * direction.sign * rate
    if pos.book_rate == rate:
        cash_change = -signed * price * rate - fee
    else:
        # The principal comes back as it was booked; the move is worth what it is at ``rate``.
        principal = closing * pos.avg_price * pos.book_rate * direction.sign
        cash_change = principal + realized - remainder * order.side.sign * price * rate - fee
    entry_share = closing / abs(held)
    exit_share = Decimal(1) if remainder == 0 else closing / quantity
    entry_fee_share = pos.entry_fees * entry_share
    exit_fee_share = fee * exit_share
    slippage_share = pos.entry_slippage * entry_share + slippage * exit_share
    spread_share = pos.entry_spread * entry_share + spread * exit_share
    trade = closed_trade(
        symbol=pos.symbol,
        direction=direction,
        quantity=closing,
        entry_price=pos.avg_price,
        exit_price=price,
        opened_at=pos.opened_at or ts,
        closed_at=ts,
        fees=entry_fee_share + exit_fee_share,
        slippage=slippage_share,
        spread_cost=spread_share,
        stop=pos.stop,
        exit_reason=exit_reason or exit_reason_for(order, flipped=remainder > 0),
        exit_order_id=order.order_id,
        rate=rate,
    )
    realized_total = pos.realized_pnl + realized
    if remainder > 0:
        after = Position(
            symbol=pos.symbol,
            quantity=remainder * order.side.sign,
            avg_price=price,
            mark=price,
            opened_at=ts,
            stop=order.stop_loss,
            entry_fees=fee - exit_fee_share,
            entry_slippage=slippage * (1 - exit_share),
            entry_spread=spread * (1 - exit_share),
            realized_pnl=realized_total,
            rate=rate,
            book_rate=rate,
        )
    elif closing == abs(held):
        after = Position(symbol=pos.symbol, mark=price, realized_pnl=realized_total, rate=rate)
    else:
        after = msgspec.structs.replace(
            pos,
            quantity=held + signed,
            mark=price,
            rate=rate,
            entry_fees=pos.entry_fees - entry_fee_share,
            entry_slippage=pos.entry_slippage * (1 - entry_share),
            entry_spread=pos.entry_spread * (1 - entry_share),
            realized_pnl=realized_total,
        )
    return FillOutcome(position=after, realized_pnl=realized, cash_change=cash_change, closed=trade)


def _booked_rate(
    pos: Position, quantity: Decimal, price: Decimal, rate: Decimal, avg: Decimal, new: Decimal
) -> Decimal:
    """The rate the grown position's principal stands booked at (cost-weighted)."""
    if pos.quantity == 0 or pos.book_rate == rate:
        return rate
    booked = abs(pos.quantity) * pos.avg_price * pos.book_rate + quantity * price * rate
    return booked / (abs(new) * avg)
