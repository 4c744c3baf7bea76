"""Request-reply answers about the venue's book: which orders it is working.

An auditor (and the chaos test) compares these with the accounts' open orders: the account and
the venue must agree on every order's life.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from faststream.nats import NatsMessage

from papertape.common.runtime import ServiceRuntime
from papertape.contract import codec
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.ids import AccountId, OrderId
from papertape.trading.venue import Venue

QUEUE_GROUP = "execution"

requests: codec.Codec[Request[GetWorkingOrders]] = codec.Codec(Request[GetWorkingOrders])


def working_orders(venues: Iterable[Venue], account_id: AccountId | None) -> WorkingOrders:
    """The venues' working orders by account (of one account when asked)."""
    orders: dict[AccountId, list[OrderId]] = {}
    for venue in venues:
        for order in venue.working():
            placed = order.placed
            if account_id is None or placed.account_id == account_id:
                orders.setdefault(placed.account_id, []).append(placed.order_id)
    return WorkingOrders(orders=orders)


def register_queries(runtime: ServiceRuntime, venues: Callable[[], Iterable[Venue]]) -> None:
    """Answer ``execution.query.*`` (a queue group) from the books ``venues`` gives: the one
    book, or the partitions this replica holds (a replica answers for those alone)."""

    @runtime.broker.subscriber(runtime.subjects.execution_queries(), queue=QUEUE_GROUP)
    @runtime.replying("execution_query")
    async def answer(msg: NatsMessage) -> bytes:
        request = requests.decode(msg.body)
        answer = working_orders(venues(), request.body.account_id)
        return codec.encode(Reply(ok=True, result=answer))
