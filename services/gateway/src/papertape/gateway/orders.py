"""Order entry through the gateway: placement made idempotent by ``client_order_id``, closing a
position at market, moving its exits.

The account refuses a second order with a ``client_order_id`` it has seen
(``duplicate_client_order_id``), so a retry never places twice; the gateway makes the retry
return the first result: from a bounded cache of recent placements, else (after a restart, or
on another replica) by finding the first placement in the account's activity. A close is a
reduce-only market order on the other side; a move is one command (``MoveExits``): the account
cancels the exits moved and places reduce-only ones at the new prices for the position's
quantity, or refuses it all and the old exits stay working.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC

import msgspec

from papertape.contract.events.account import (
    AccountEvent,
    MoveExits,
    OrderCancelled,
    OrderPlaced,
    OrderRejected,
    PlaceOrder,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.events.portfolio import (
    CommandResult,
    GetAccountSummary,
    GetActivity,
    GetPositions,
)
from papertape.contract.events.reports import AccountSummary, PositionView
from papertape.contract.ids import AccountId, Actor, ClientOrderId, OrderId
from papertape.gateway.bodies import ClosePositionBody, MovedExits, MoveExitsBody, PlaceOrderBody
from papertape.gateway.bus import Refused, Services
from papertape.gateway.errors import invalid, not_found

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
    """Move the position's exits with one command: the account cancels those moved and places
    reduce-only ones at the new prices, or refuses the move and they stay working."""
    if body.stop_loss is None and body.take_profit is None:
        raise invalid("give stop_loss, take_profit or both", "stop_loss")
    position = await position_of(services, account_id, symbol, actor)
    command = MoveExits(
        account_id=AccountId(account_id),
        order_id=OrderId(new_id),
        symbol=position.symbol,
        stop_loss=body.stop_loss,
        take_profit=body.take_profit,
    )
    result = await services.command(command, actor)
    events = [envelope.data for envelope in result.events]
    return MovedExits(
        cancelled=[e.order_id for e in events if isinstance(e, OrderCancelled)],
        placed=[e.order_id for e in events if isinstance(e, OrderPlaced)],
    )
