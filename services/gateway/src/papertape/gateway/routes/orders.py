"""/api/v1/accounts/{id}/orders and /positions: place, list, read, cancel; close and move exits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from papertape.contract.events.account import CancelOrder
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import CommandResult, GetOpenOrders, GetOrder, GetOrders
from papertape.contract.events.reports import OpenOrder, OrderHistory, OrderPage, OrderStatus
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import (
    ClosePositionBody,
    MovedExits,
    MoveExitsBody,
    OrderDetail,
    OrdersPage,
    PlaceOrderBody,
)
from papertape.gateway.lane import Lane
from papertape.gateway.orders import close_order, move_exits, place_order, position_of
from papertape.gateway.routes.accounts import Cursor, cursor_number
from papertape.gateway.routes.common import (
    DEPENDENCIES,
    account,
    acting,
    actor,
    order_ref,
    reading,
    time_range,
)
from papertape.gateway.state import Gateway

REPLAYED = "Idempotent-Replayed"
PLACE_EXAMPLES = [
    Example(
        summary="a market buy with a bracket",
        value={
            "symbol": "BTCUSD",
            "side": "buy",
            "quantity": "0.5",
            "stop_loss": "90000",
            "take_profit": "120000",
            "client_order_id": "my-order-1",
        },
    ),
    Example(
        summary="a GTD limit sell",
        value={
            "symbol": "AAPL",
            "side": "sell",
            "quantity": "10",
            "order_type": "limit",
            "limit_price": "250.00",
            "time_in_force": "gtd",
            "expire_at": "2030-01-01T00:00:00Z",
        },
    ),
]
OrderLimit = Annotated[int, Parameter(ge=1, le=1000, description="orders per page")]


def _placed(result: CommandResult, replayed: bool) -> Response[CommandResult]:
    status = HTTP_200_OK if replayed else HTTP_201_CREATED
    return Response(result, status_code=status, headers={REPLAYED: str(replayed).lower()})


async def placed(
    gateway: Gateway, key: ApiKey, account_id: str, data: PlaceOrderBody
) -> Response[CommandResult]:
    """Place an order body for the account: the route's work, and the placement lane's."""
    order_id = data.order_id or gateway.services.ids.new()  # a new id only when none is given
    command = place_order(account(account_id), data, order_id)
    result, replayed = await gateway.placements.place(command, actor(key))
    return _placed(result, replayed)


class OrdersController(Controller):
    """Orders of one account."""

    path = "/api/v1/accounts/{account_id:str}"
    tags = ["orders"]
    dependencies = DEPENDENCIES

    @acting(
        "/orders",
        summary="Place an order (a retry with the same client_order_id returns the first result)",
        status_code=HTTP_201_CREATED,
        lane=Lane(PlaceOrderBody, placed),
    )
    async def place(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        data: Annotated[PlaceOrderBody, Body(examples=PLACE_EXAMPLES)],
    ) -> Response[CommandResult]:
        return await placed(gateway, key, account_id, data)

    @reading(
        "/orders",
        summary="Every order (working, filled, cancelled, rejected, expired), newest first,"
        " filtered, in cursor pages",
    )
    async def orders(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        status: OrderStatus | None = None,
        symbol: Annotated[str | None, Parameter(min_length=1, max_length=200)] = None,
        side: OrderSide | None = None,
        order_type: OrderType | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: Cursor = None,
        limit: OrderLimit = 100,
    ) -> OrdersPage:
        since, until = time_range(since, until)
        start = cursor_number(cursor)
        query = GetOrders(
            account_id=AccountId(account(account_id)),
            status=status,
            symbol=Symbol(symbol) if symbol else None,
            side=side,
            order_type=order_type,
            since=since,
            until=until,
            offset=start,
            limit=limit,
        )
        page: OrderPage = await gateway.services.query(query, actor(key))
        more = start + limit < page.total
        return OrdersPage(
            items=page.orders, total=page.total, next_cursor=str(start + limit) if more else None
        )

    @reading("/orders/{order_id:str}", summary="One order with its fills")
    async def order(
        self, gateway: Gateway, key: ApiKey, account_id: str, order_id: str
    ) -> OrderDetail:
        return await _order_detail(gateway, key, account(account_id), order_ref(order_id))

    @acting("/orders/{order_id:str}", method="delete", status_code=HTTP_200_OK, summary="Cancel")
    async def cancel(
        self, gateway: Gateway, key: ApiKey, account_id: str, order_id: str
    ) -> CommandResult:
        body = CancelOrder(
            account_id=AccountId(account(account_id)),
            order_id=order_ref(order_id),
            reason="cancelled through the API",
        )
        return await gateway.services.command(body, actor(key))

    @acting("/positions/{symbol:str}/close", summary="Close a position at market, all or part")
    async def close(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        symbol: str,
        data: ClosePositionBody,
    ) -> Response[CommandResult]:
        position = await position_of(gateway.services, account(account_id), symbol, actor(key))
        command = close_order(account_id, position, data, gateway.services.ids.new())
        result, replayed = await gateway.placements.place(command, actor(key))
        return _placed(result, replayed)

    @acting(
        "/positions/{symbol:str}/exits",
        method="patch",
        summary="Move a position's stop-loss or take-profit",
    )
    async def move(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        symbol: str,
        data: MoveExitsBody,
    ) -> MovedExits:
        return await move_exits(
            gateway.services,
            account(account_id),
            symbol,
            data,
            actor(key),
            gateway.services.ids.new(),
        )


async def _order_detail(
    gateway: Gateway, key: ApiKey, account_id: str, order_id: str
) -> OrderDetail:
    """The order's record and fills from the account's history, and how it works now."""
    who = actor(key)
    found: OrderHistory = await gateway.services.query(
        GetOrder(account_id=AccountId(account_id), order_id=OrderId(order_id)), who
    )
    working = None
    if found.order.status is OrderStatus.WORKING:
        orders: list[OpenOrder] = await gateway.services.query(
            GetOpenOrders(account_id=AccountId(account_id)), who
        )
        working = next((o for o in orders if o.order_id == order_id), None)
    return OrderDetail(
        order=found.order, status=found.order.status, working=working, fills=found.fills
    )
