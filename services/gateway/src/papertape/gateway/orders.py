"""Order entry through the gateway: placement made idempotent by ``client_order_id``, closing a
position at market, moving its exits.

The account refuses a second order with a ``client_order_id`` it has seen
(``duplicate_client_order_id``), so a retry never places twice; the gateway makes the retry
return the first result: from a bounded cache of recent placements, else (after a restart, or
on another replica) by finding the first placement in the account's activity. A close is a
reduce-only market order on the other side; a move cancels the exit order and places a
reduce-only stop (or limit) at the new price for the position's quantity.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC
from decimal import Decimal
from typing import NoReturn

import msgspec
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from papertape.contract.events.account import (
    AccountEvent,
    CancelOrder,
    OrderPlaced,
    OrderRejected,
    PlaceOrder,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, RejectReason
from papertape.contract.events.portfolio import (
    CommandResult,
    GetAccountSummary,
    GetActivity,
    GetOpenOrders,
    GetPositions,
)
from papertape.contract.events.reports import AccountSummary, OpenOrder, PositionView
from papertape.contract.ids import AccountId, Actor, ClientOrderId, OrderId, Symbol
from papertape.contract.instruments import instrument_for
from papertape.gateway.bodies import ClosePositionBody, MovedExits, MoveExitsBody, PlaceOrderBody
from papertape.gateway.bus import Refused, Services
from papertape.gateway.errors import ApiException, invalid, not_found

_CACHED = 10_000
_PAGE = 500


def place_order(account_id: str, body: PlaceOrderBody, order_id: str) -> PlaceOrder:
    """The contract's command for an order body."""
    return PlaceOrder(
        account_id=AccountId(account_id),
        order_id=OrderId(body.order_id or order_id),
        client_order_id=body.client_order_id,
        symbol=body.symbol,
        side=body.side,
        quantity=body.quantity,
        order_type=body.order_type,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        trail_amount=body.trail_amount,
        trail_percent=body.trail_percent,
        time_in_force=body.time_in_force,
        # UTC in the log, as every time on the bus: a body may name the moment in any offset.
        expire_at=None if body.expire_at is None else body.expire_at.astimezone(UTC),
        stop_loss=body.stop_loss,
        take_profit=body.take_profit,
        reduce_only=body.reduce_only,
    )


class Placements:
    """Places orders; the same ``client_order_id`` again returns the first result."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._first: OrderedDict[tuple[str, str], CommandResult] = OrderedDict()

    async def place(self, command: PlaceOrder, actor: Actor) -> tuple[CommandResult, bool]:
        """The placement's result, and whether it is the first one of a retry (True)."""
        key = (command.account_id, command.client_order_id or "")
        if command.client_order_id and (cached := self._first.get(key)) is not None:
            return cached, True
        try:
            result = await self.services.command(command, actor)
        except Refused as refusal:
            duplicate = refusal.code == RejectReason.DUPLICATE_CLIENT_ORDER_ID
            if not (duplicate and command.client_order_id):
                raise
            first = await self._find_first(command.account_id, command.client_order_id, actor)
            if first is None:
                raise
            self._remember(key, first)
            return first, True
        if command.client_order_id:
            self._remember(key, result)
        return result, False

    def _remember(self, key: tuple[str, str], result: CommandResult) -> None:
        self._first[key] = result
        while len(self._first) > _CACHED:
            self._first.popitem(last=False)

    async def _find_first(
        self, account_id: str, client_order_id: ClientOrderId, actor: Actor
    ) -> CommandResult | None:
        """The events of the first placement with this id, newest pages of activity first."""
        summary: AccountSummary = await self.services.query(
            GetAccountSummary(account_id=AccountId(account_id)), actor
        )
        end = summary.version
        while end >= 1:
            start = max(1, end - _PAGE + 1)
            page: list[Envelope[AccountEvent]] = await self.services.query(
                GetActivity(account_id=AccountId(account_id), from_version=start, limit=_PAGE),
                actor,
            )
            for envelope in reversed(page):
                event = envelope.data
                if (
                    isinstance(event, OrderPlaced | OrderRejected)
                    and event.client_order_id == client_order_id
                    and not _is_duplicate(event)
                ):
                    # As the command's reply had them: the log's own fields are not in it.
                    events = [
                        msgspec.structs.replace(e, recorded_at=None, position=None)
                        for e in page
                        if e.correlation_id == envelope.correlation_id
                    ]
                    return CommandResult(
                        account_id=account_id,
                        version=max(e.stream_version for e in events),
                        events=events,
                    )
            end = start - 1
        return None


def _is_duplicate(event: AccountEvent) -> bool:
    return (
        isinstance(event, OrderRejected)
        and event.reason_code == RejectReason.DUPLICATE_CLIENT_ORDER_ID
    )


async def position_of(
    services: Services, account_id: str, symbol: str, actor: Actor
) -> PositionView:
    """The open position in ``symbol``, or 404."""
    positions: list[PositionView] = await services.query(
        GetPositions(account_id=AccountId(account_id)), actor
    )
    for position in positions:
        if position.symbol == symbol and position.quantity != 0:
            return position
    raise not_found(f"account {account_id} holds no position in {symbol}")


def close_order(
    account_id: str, position: PositionView, body: ClosePositionBody, order_id: str
) -> PlaceOrder:
    """A reduce-only market order closing all of the position or ``body.quantity`` of it."""
    held = abs(position.quantity)
    quantity = held if body.quantity is None else body.quantity
    if quantity <= 0 or quantity > held:
        raise invalid(f"quantity must be > 0 and at most the position's {held}", "quantity")
    return PlaceOrder(
        account_id=AccountId(account_id),
        order_id=OrderId(order_id),
        client_order_id=body.client_order_id,
        symbol=position.symbol,
        side=OrderSide.SELL if position.quantity > 0 else OrderSide.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        reduce_only=True,
    )


async def move_exits(
    services: Services,
    account_id: str,
    symbol: str,
    body: MoveExitsBody,
    actor: Actor,
    new_id: str,
) -> MovedExits:
    """Cancel the position's exits being moved and place reduce-only ones at the new prices."""
    if body.stop_loss is None and body.take_profit is None:
        raise invalid("give stop_loss, take_profit or both", "stop_loss")
    position = await position_of(services, account_id, symbol, actor)
    _check_exits(position, body)
    orders: list[OpenOrder] = await services.query(
        GetOpenOrders(account_id=AccountId(account_id)), actor
    )
    exit_side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
    moved = MovedExits(cancelled=[], placed=[])
    for role, price, order_type in (
        (OrderRole.STOP_LOSS, body.stop_loss, OrderType.STOP),
        (OrderRole.TAKE_PROFIT, body.take_profit, OrderType.LIMIT),
    ):
        if price is None:
            continue
        for order in orders:
            if order.symbol == symbol and _exit_role(order, exit_side) is role:
                await services.command(
                    CancelOrder(
                        account_id=AccountId(account_id),
                        order_id=order.order_id,
                        reason=f"{role} moved to {price}",
                    ),
                    actor,
                )
                moved.cancelled.append(order.order_id)
        order_id = f"{new_id}-{'sl' if role is OrderRole.STOP_LOSS else 'tp'}"
        await services.command(
            _exit_order(
                account_id, position.symbol, exit_side, position, order_type, price, order_id
            ),
            actor,
        )
        moved.placed.append(order_id)
    return moved


def _check_exits(position: PositionView, body: MoveExitsBody) -> None:
    """422 ``invalid_order`` naming ``stop_loss`` or ``take_profit`` for an exit the account would
    refuse as the order placed for it, checked before any exit is cancelled:

    - off the instrument's tick, as the account words it, but naming the field the caller sent
      (the account's refusal of the exit order names its ``stop_price`` or ``limit_price``, and
      came after the exit being moved was cancelled);
    - on the wrong side of the position's mark, as the account refuses a bracket on the wrong
      side of its order's price: a long's stop-loss above the market (or its take-profit below)
      is no exit to move, it closes the position at the next quote."""
    instrument = instrument_for(position.symbol)
    sign = 1 if position.quantity > 0 else -1
    for name, price, below in (
        ("stop_loss", body.stop_loss, True),
        ("take_profit", body.take_profit, False),
    ):
        if price is None:
            continue
        if price <= 0 or instrument.price(price) != price:
            tick = instrument.tick_size
            _refuse(name, f"{name} {price} is not a positive multiple of the tick {tick}")
        if (position.mark - price) * sign * (1 if below else -1) <= 0:
            _refuse(name, f"{name} {price} is on the wrong side of the mark {position.mark}")


def _refuse(field: str, message: str) -> NoReturn:
    raise ApiException(
        HTTP_422_UNPROCESSABLE_ENTITY, RejectReason.INVALID_ORDER.value, message, field=field
    )


def _exit_role(order: OpenOrder, exit_side: OrderSide) -> OrderRole | None:
    """A working order's exit role for the position: a bracket child, or a reduce-only exit."""
    if order.role is not OrderRole.ENTRY:
        return order.role
    if order.reduce_only and order.side is exit_side:
        if order.order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
            return OrderRole.STOP_LOSS
        if order.order_type is OrderType.LIMIT:
            return OrderRole.TAKE_PROFIT
    return None


def _exit_order(
    account_id: str,
    symbol: Symbol,
    side: OrderSide,
    position: PositionView,
    order_type: OrderType,
    price: Decimal,
    order_id: str,
) -> PlaceOrder:
    return PlaceOrder(
        account_id=AccountId(account_id),
        order_id=OrderId(order_id),
        symbol=symbol,
        side=side,
        quantity=abs(position.quantity),
        order_type=order_type,
        stop_price=price if order_type is OrderType.STOP else None,
        limit_price=price if order_type is OrderType.LIMIT else None,
        reduce_only=True,
    )
