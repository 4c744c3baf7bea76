"""Request-reply answers about the venue's book: which orders it is working.

An auditor (and the chaos test) compares these with the accounts' open orders: the account and
the venue must agree on every order's life. As replicas, a query reaches the owner of its
account's partition whichever replica received it (``papertape.common.bus.routing``), and a
query of every account gathers every partition's orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import msgspec
from faststream.nats import NatsMessage
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from papertape.common.bus.routing import Router
from papertape.common.runtime import Handler, ServiceRuntime
from papertape.contract import codec
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.ids import AccountId, OrderId
from papertape.trading.venue import Venue

QUEUE_GROUP = "execution"
QUERY_NAME = "execution_query"

requests: codec.Codec[Request[GetWorkingOrders]] = codec.Codec(Request[GetWorkingOrders])
_working_orders = msgspec.json.Decoder(WorkingOrders)


def working_orders(venues: Iterable[Venue], account_id: AccountId | None) -> WorkingOrders:
    """The venues' working orders by account (of one account when asked)."""
    orders: dict[AccountId, list[OrderId]] = {}
    for venue in venues:
        for order in venue.working():
            placed = order.placed
            if account_id is None or placed.account_id == account_id:
                orders.setdefault(placed.account_id, []).append(placed.order_id)
    return WorkingOrders(orders=orders)


def merged(results: Sequence[msgspec.Raw]) -> WorkingOrders:
    """Every partition's working orders in one answer (an account lives in one partition)."""
    orders: dict[AccountId, list[OrderId]] = {}
    for result in results:
        orders.update(_working_orders.decode(result).orders)
    return WorkingOrders(orders=orders)


def answering(runtime: ServiceRuntime, venues: Callable[[], Iterable[Venue]]) -> Handler[bytes]:
    """The handler that answers a query from the books ``venues`` gives."""

    @runtime.replying(QUERY_NAME)
    async def answer(msg: NatsMessage) -> bytes:
        request = requests.decode(msg.body)
        answer = working_orders(venues(), request.body.account_id)
        return codec.encode(Reply(ok=True, result=answer))

    return answer


def register_queries(runtime: ServiceRuntime, venues: Callable[[], Iterable[Venue]]) -> None:
    """Answer ``execution.query.*`` (a queue group) from the one book ``venues`` gives."""
    runtime.broker.subscriber(runtime.subjects.execution_queries(), queue=QUEUE_GROUP)(
        answering(runtime, venues)
    )


async def route_queries(
    runtime: ServiceRuntime, router: Router, venues: Callable[[], Iterable[Venue]]
) -> Subscription:
    """Replicas: answer ``execution.query.*`` for the partitions served here (``venues``),
    forward the others to ``execution.p<k>.query.*``, gather a query of every account."""
    subjects = runtime.subjects

    def partition_subject(k: int, raw: Msg) -> str:
        return subjects.execution_partition_query(k, raw.subject.rsplit(".", 1)[-1])

    return await router.route(
        subjects.execution_queries(),
        answering(runtime, venues),
        partition_subject,
        gather=partition_subject,
        merge=merged,
    )


async def serve_partition_queries(
    runtime: ServiceRuntime, router: Router, index: int, venue: Venue
) -> Subscription:
    """The owner of partition ``index`` answers ``execution.p<index>.query.*`` from its book."""
    subject = runtime.subjects.execution_partition_queries(index)
    return await router.serve(subject, answering(runtime, lambda: [venue]))
