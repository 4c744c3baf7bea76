"""/api/v1/accounts/{id}/orders and /positions: place, list, read, cancel; close and move exits."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from papertape.contract.codec import upcast
from papertape.contract.events.account import (
    AccountEvent,
    CancelOrder,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import (
    CommandResult,
    GetAccountSummary,
    GetActivity,
    GetOpenOrders,
)
from papertape.contract.events.reports import AccountSummary, OpenOrder
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import (
    ClosePositionBody,
    MovedExits,
    MoveExitsBody,
    OrderDetail,
    PlaceOrderBody,
)
from papertape.gateway.errors import not_found
from papertape.gateway.orders import close_order, move_exits, place_order, position_of
from papertape.gateway.routes.common import DEPENDENCIES, account, acting, actor, order_ref, reading
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
_PAGE = 500


def _placed(result: CommandResult, replayed: bool) -> Response[CommandResult]:
    status = HTTP_200_OK if replayed else HTTP_201_CREATED
    return Response(result, status_code=status, headers={REPLAYED: str(replayed).lower()})


class OrdersController(Controller):
    """Orders of one account."""

    path = "/api/v1/accounts/{account_id:str}"
    tags = ["orders"]
    dependencies = DEPENDENCIES

    @acting(
        "/orders",
        summary="Place an order (a retry with the same client_order_id returns the first result)",
        status_code=HTTP_201_CREATED,
    )
    async def place(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        data: Annotated[PlaceOrderBody, Body(examples=PLACE_EXAMPLES)],
    ) -> Response[CommandResult]:
        command = place_order(account(account_id), data, gateway.services.ids.new())
        result, replayed = await gateway.placements.place(command, actor(key))
        return _placed(result, replayed)

    @reading("/orders", summary="Working orders, filtered")
    async def working(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        symbol: Annotated[str | None, Parameter(max_length=200)] = None,
        side: OrderSide | None = None,
        order_type: OrderType | None = None,
    ) -> list[OpenOrder]:
        query = GetOpenOrders(account_id=AccountId(account(account_id)))
        orders: list[OpenOrder] = await gateway.services.query(query, actor(key))
        return [
            o
            for o in orders
            if (symbol is None or o.symbol == symbol)
            and (side is None or o.side is side)
            and (order_type is None or o.order_type is order_type)
        ]

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
    """The order's events from the account's activity, newest pages first."""
    who = actor(key)
    summary: AccountSummary = await gateway.services.query(
        GetAccountSummary(account_id=AccountId(account_id)), who
    )
    events: list[AccountEvent] = []
    end = summary.version
    while end >= 1:
        start = max(1, end - _PAGE + 1)
        page: list[Envelope[AccountEvent]] = await gateway.services.query(
            GetActivity(account_id=AccountId(account_id), from_version=start, limit=_PAGE), who
        )
        mine = [upcast(e.data) for e in page if getattr(e.data, "order_id", None) == order_id]
        events = mine + events
        if any(isinstance(e, OrderPlaced | OrderRejected) for e in mine):
            break
        end = start - 1
    placed = next((e for e in events if isinstance(e, OrderPlaced)), None)
    if placed is None:
        raise not_found(f"account {account_id} has no order {order_id}")
    fills = [e for e in events if isinstance(e, OrderFilledV2)]
    orders: list[OpenOrder] = await gateway.services.query(
        GetOpenOrders(account_id=AccountId(account_id)), who
    )
    working = next((o for o in orders if o.order_id == order_id), None)
    return OrderDetail(order=placed, status=_status(events, working), working=working, fills=fills)


def _status(events: list[AccountEvent], working: OpenOrder | None) -> str:
    if working is not None:
        return "working"
    for event in reversed(events):
        if isinstance(event, OrderCancelled):
            return "cancelled"
        if isinstance(event, OrderExpired):
            return "expired"
        if isinstance(event, OrderFilledV2) and event.order_remaining == 0:
            return "filled"
    return "closed"
