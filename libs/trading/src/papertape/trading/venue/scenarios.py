"""Builders of orders and market data for venue tests, benchmarks and examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.account import CostModelSetV2, OrderPlaced
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, TimeInForce
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.instruments import AssetClass

ACCOUNT = AccountId("acc-1")
AAPL = Symbol("AAPL")
T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
FRICTIONLESS = CostSchedule(asset_classes=dict.fromkeys(AssetClass, CostTerms(name="none")))
"""A cost schedule with no fees, slippage or modeled spread in any asset class."""


def costs_set(
    schedule: CostSchedule = FRICTIONLESS, account: AccountId = ACCOUNT, ts: datetime = T0
) -> CostModelSetV2:
    """The account event that gives an account its cost schedule (frictionless by default)."""
    return CostModelSetV2(account_id=account, ts=ts, schedule=schedule)


def at(seconds: float) -> datetime:
    """``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def _d(value: str | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def placed(
    order_id: str,
    side: OrderSide = OrderSide.BUY,
    quantity: str = "10",
    order_type: OrderType = OrderType.MARKET,
    *,
    symbol: Symbol = AAPL,
    limit: str | None = None,
    stop: str | None = None,
    trail_amount: str | None = None,
    trail_percent: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    expire_at: datetime | None = None,
    ts: datetime = T0,
    account: AccountId = ACCOUNT,
    stop_loss: str | None = None,
    take_profit: str | None = None,
    role: OrderRole = OrderRole.ENTRY,
    parent: str | None = None,
) -> OrderPlaced:
    """An OrderPlaced as the account would record it."""
    return OrderPlaced(
        account_id=account,
        ts=ts,
        order_id=OrderId(order_id),
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        order_type=order_type,
        limit_price=_d(limit),
        stop_price=_d(stop),
        trail_amount=_d(trail_amount),
        trail_percent=_d(trail_percent),
        time_in_force=tif,
        expire_at=expire_at,
        stop_loss=_d(stop_loss),
        take_profit=_d(take_profit),
        role=role,
        parent_order_id=OrderId(parent) if parent is not None else None,
        reference_price=Decimal(100),
        reduce_only=parent is not None,
        opening=parent is None,
    )


def bracket(
    order_id: str,
    quantity: str = "10",
    *,
    stop_loss: str,
    take_profit: str,
    side: OrderSide = OrderSide.BUY,
    order_type: OrderType = OrderType.MARKET,
    limit: str | None = None,
    ts: datetime = T0,
) -> list[OrderPlaced]:
    """An entry and its children, as the account places them (``<id>-sl``, ``<id>-tp``)."""
    exit_side = side.opposite
    return [
        placed(
            order_id,
            side,
            quantity,
            order_type,
            limit=limit,
            ts=ts,
            stop_loss=stop_loss,
            take_profit=take_profit,
        ),
        placed(
            f"{order_id}-sl",
            exit_side,
            quantity,
            OrderType.STOP,
            stop=stop_loss,
            ts=ts,
            role=OrderRole.STOP_LOSS,
            parent=order_id,
        ),
        placed(
            f"{order_id}-tp",
            exit_side,
            quantity,
            OrderType.LIMIT,
            limit=take_profit,
            ts=ts,
            role=OrderRole.TAKE_PROFIT,
            parent=order_id,
        ),
    ]


def quote(
    bid: str,
    ask: str,
    ts: datetime = T0,
    *,
    symbol: Symbol = AAPL,
    last: str | None = None,
    bid_size: str = "0",
    ask_size: str = "0",
    in_session: bool = True,
) -> QuoteReceived:
    """A quote."""
    return QuoteReceived(
        symbol=symbol,
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=Decimal(bid_size),
        ask_size=Decimal(ask_size),
        last=_d(last),
        ts_event=ts,
        ts_init=ts,
        source="test",
        in_session=in_session,
    )


def bar(
    o: str,
    h: str,
    low: str,
    c: str,
    start: datetime = T0,
    *,
    volume: str = "0",
    symbol: Symbol = AAPL,
    timeframe: Timeframe = Timeframe.M1,
) -> BarClosed:
    """A one-minute bar (by default) starting at ``start``."""
    return BarClosed(
        symbol=symbol,
        timeframe=timeframe,
        open=Decimal(o),
        high=Decimal(h),
        low=Decimal(low),
        close=Decimal(c),
        volume=Decimal(volume),
        start=start,
        end=start + timedelta(minutes=1),
        source="test",
    )
