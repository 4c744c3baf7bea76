"""Closed trades: what closing part of a position made, in money, pips and R."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from papertape.contract.events.orders import ExitReason, OrderRole, OrderSide, OrderSource
from papertape.contract.events.reports import ClosedTrade
from papertape.contract.ids import OrderId, Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.contract.money import ZERO, money
from papertape.trading.account.state import Order


def exit_reason_for(order: Order, flipped: bool) -> ExitReason:
    """Why an order closed a position: its bracket role, a flip, or who placed it."""
    if order.role is OrderRole.STOP_LOSS:
        return ExitReason.STOP_LOSS
    if order.role is OrderRole.TAKE_PROFIT:
        return ExitReason.TAKE_PROFIT
    if flipped:
        return ExitReason.FLIP
    return ExitReason.SIGNAL if order.source is OrderSource.SIGNAL else ExitReason.MANUAL


def closed_trade(
    *,
    symbol: Symbol,
    direction: OrderSide,
    quantity: Decimal,
    entry_price: Decimal,
    exit_price: Decimal,
    opened_at: datetime,
    closed_at: datetime,
    fees: Decimal,
    stop: Decimal | None,
    exit_reason: ExitReason,
    exit_order_id: OrderId,
    slippage: Decimal = ZERO,
    spread_cost: Decimal = ZERO,
    rate: Decimal = Decimal(1),
) -> ClosedTrade:
    """A closed trade; R is net P&L over the risk to the initial stop, pips only for FX.

    Prices are in the quote currency; money (fees, slippage and spread given in the base
    currency already, P&L, the risk behind R) in the base currency at the closing ``rate``.
    Slippage and spread are in the prices already (so in gross P&L); they are shown apart.
    """
    move = (exit_price - entry_price) * direction.sign
    gross = move * quantity * rate
    net = gross - fees
    instrument = instrument_for(symbol)
    pips = instrument.pips(move) if instrument.asset_class is AssetClass.FX else None
    r_multiple = None
    if stop is not None and stop != entry_price:
        r_multiple = net / (abs(entry_price - stop) * quantity * rate)
    return ClosedTrade(
        symbol=symbol,
        direction=direction,
        quantity=quantity,
        entry_price=entry_price,
        exit_price=exit_price,
        opened_at=opened_at,
        closed_at=closed_at,
        gross_pnl=gross,
        fees=fees,
        slippage=money(slippage),
        spread_cost=money(spread_cost),
        net_pnl=net,
        pips=pips,
        r_multiple=r_multiple,
        holding_seconds=(closed_at - opened_at).total_seconds(),
        exit_reason=exit_reason,
        exit_order_id=exit_order_id,
        round_trip_id=round_trip_id(symbol, direction, opened_at),
        rate=rate,
    )


def round_trip_id(symbol: Symbol, direction: OrderSide, opened_at: datetime) -> str:
    """The round trip a leg belongs to: its position's symbol, side and opening time."""
    return f"{symbol}:{direction.value}:{opened_at.isoformat()}"


def round_trip_of(trade: ClosedTrade) -> str:
    """A trade's round trip, also for a trade recorded before trades named it."""
    return trade.round_trip_id or round_trip_id(trade.symbol, trade.direction, trade.opened_at)
