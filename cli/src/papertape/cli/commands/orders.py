"""``papertape order``: place, list and cancel orders through a running portfolio."""

from __future__ import annotations

import argparse

from papertape.cli.client import (
    PortfolioClient,
    decimal_argument,
    portfolio_handler,
    portfolio_options,
    timestamp_argument,
)
from papertape.cli.commands import Subparsers
from papertape.cli.output import print_json, stdout
from papertape.cli.statements import print_orders
from papertape.contract.events.account import (
    CancelOrder,
    OrderCancelled,
    OrderPlaced,
    PlaceOrder,
)
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.contract.events.portfolio import GetOpenOrders
from papertape.contract.events.reports import OpenOrder
from papertape.contract.ids import AccountId, ClientOrderId, OrderId, Symbol


def register(subparsers: Subparsers) -> None:
    """Add ``order`` with ``place``, ``list`` and ``cancel``."""
    common = portfolio_options()
    parser = subparsers.add_parser("order", help="place, list and cancel orders")
    commands = parser.add_subparsers(title="order commands", metavar="ACTION", required=True)

    place = commands.add_parser(
        "place",
        parents=[common],
        help="place an order (pre-trade risk decides)",
        description="Exit 1 with the reason code when the account refuses the order.",
    )
    place.add_argument("account", metavar="ACCOUNT")
    place.add_argument("symbol", metavar="SYMBOL")
    place.add_argument("side", choices=[s.value for s in OrderSide])
    place.add_argument("quantity", type=decimal_argument, metavar="QTY")
    place.add_argument(
        "--type", dest="order_type", choices=[t.value for t in OrderType], default="market"
    )
    place.add_argument("--limit", type=decimal_argument, metavar="P", help="limit price")
    place.add_argument("--stop", type=decimal_argument, metavar="P", help="stop (trigger) price")
    place.add_argument("--trail", type=decimal_argument, metavar="P", help="trailing offset")
    place.add_argument(
        "--trail-percent", type=decimal_argument, metavar="PCT", help="trailing offset in %%"
    )
    place.add_argument("--sl", type=decimal_argument, metavar="P", help="bracket stop-loss")
    place.add_argument("--tp", type=decimal_argument, metavar="P", help="bracket take-profit")
    place.add_argument("--tif", choices=[t.value for t in TimeInForce], default="gtc")
    place.add_argument("--expire-at", type=timestamp_argument, metavar="ISO", help="for --tif gtd")
    place.add_argument("--reduce-only", action="store_true")
    place.add_argument("--client-order-id", help="your id; a repeat is refused, not doubled")
    place.add_argument("--order-id", help="the order's id (default: a new UUIDv7)")
    place.set_defaults(handler=portfolio_handler(_place))

    listing = commands.add_parser("list", parents=[common], help="an account's working orders")
    listing.add_argument("account", metavar="ACCOUNT")
    listing.set_defaults(handler=portfolio_handler(_list))

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a working order")
    cancel.add_argument("account", metavar="ACCOUNT")
    cancel.add_argument("order_id", metavar="ORDER_ID")
    cancel.add_argument("--reason", default="cancelled by hand")
    cancel.set_defaults(handler=portfolio_handler(_cancel))


def order_of(args: argparse.Namespace, order_id: str) -> PlaceOrder:
    """The PlaceOrder command the arguments describe."""
    return PlaceOrder(
        account_id=AccountId(args.account),
        order_id=OrderId(args.order_id or order_id),
        client_order_id=ClientOrderId(args.client_order_id) if args.client_order_id else None,
        symbol=Symbol(args.symbol),
        side=OrderSide(args.side),
        quantity=args.quantity,
        order_type=OrderType(args.order_type),
        limit_price=args.limit,
        stop_price=args.stop,
        trail_amount=args.trail,
        trail_percent=args.trail_percent,
        time_in_force=TimeInForce(args.tif),
        expire_at=args.expire_at,
        stop_loss=args.sl,
        take_profit=args.tp,
        reduce_only=args.reduce_only,
    )


def _placed(placed: OrderPlaced) -> str:
    price = placed.limit_price or placed.stop_price or ""
    at = f" @ {price}" if price else ""
    return (
        f"placed {placed.role} order {placed.order_id}: {placed.side} "
        f"{placed.quantity} {placed.symbol} {placed.order_type}{at} "
        f"{str(placed.time_in_force).upper()}"
    )


async def _place(client: PortfolioClient, args: argparse.Namespace) -> int:
    result = await client.command(order_of(args, client.ids.new()))
    if args.json:
        print_json(result)
        return 0
    out = stdout()
    for envelope in result.events:
        if isinstance(envelope.data, OrderPlaced):
            out.print(_placed(envelope.data), soft_wrap=True)
    return 0


async def _list(client: PortfolioClient, args: argparse.Namespace) -> int:
    orders: list[OpenOrder] = await client.query(GetOpenOrders(account_id=AccountId(args.account)))
    if args.json:
        print_json(orders)
    else:
        print_orders(orders)
    return 0


async def _cancel(client: PortfolioClient, args: argparse.Namespace) -> int:
    body = CancelOrder(
        account_id=AccountId(args.account), order_id=OrderId(args.order_id), reason=args.reason
    )
    result = await client.command(body)
    if args.json:
        print_json(result)
        return 0
    out = stdout()
    for envelope in result.events:
        if isinstance(envelope.data, OrderCancelled):
            out.print(f"cancelled order {envelope.data.order_id}", soft_wrap=True)
    return 0
