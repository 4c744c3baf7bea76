"""Execution's queries as replicas on a real NATS: the working orders of every account are
answered right whichever replica receives the request, and the survivor of a SIGKILL answers
for the partitions it took over.

Every request goes to the public subject, where the two replicas share a queue group: which one
receives it is NATS's choice, so each account is asked several times (a receiver that answered
from its own partitions alone would answer half the accounts empty, as it did before).
"""

from __future__ import annotations

import time
from collections import Counter

import msgspec
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.kv import KeyValue

from papertape.contract import codec
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.ids import AccountId, Actor, OrderId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.trading.venue.scenarios import at, placed
from tests.e2e.test_execution_replicas import (  # noqa: F401 (lease_bucket: a fixture)
    ACCOUNTS,
    lease_bucket,
    place,
    two_replicas,
    until_held,
)
from tests.e2e.test_trade_flow import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDERS_PER_ACCOUNT = 2
ASKED_PER_ACCOUNT = 4


def account(number: int) -> AccountId:
    return AccountId(f"acc-{number}")


def expected() -> dict[AccountId, list[OrderId]]:
    """The orders placed: market orders that stay working, as no quote ever comes."""
    return {
        account(a): [OrderId(f"o{a}-{n}") for n in range(ORDERS_PER_ACCOUNT)]
        for a in range(ACCOUNTS)
    }


async def ask(nc: Client, subjects: Subjects, account_id: AccountId | None) -> Reply[WorkingOrders]:
    request = Request(
        request_id=f"q-{account_id}",
        issued_at=at(1),
        actor=Actor("test"),
        body=GetWorkingOrders(account_id=account_id),
    )
    answer = await nc.request(
        subjects.execution_query("get_working_orders"), codec.encode(request), timeout=5
    )
    return msgspec.json.decode(answer.data, type=Reply[WorkingOrders])


async def answered(nc: Client, subjects: Subjects, account_id: AccountId | None) -> WorkingOrders:
    """The answer once every partition is served (``unavailable`` meanwhile: asked again)."""

    async def ok() -> WorkingOrders | None:
        reply = await ask(nc, subjects, account_id)
        if not reply.ok:
            assert reply.error_code == ReplyErrorCode.UNAVAILABLE, reply
            return None
        assert reply.result is not None
        return reply.result

    result: WorkingOrders = await until(ok, 20)
    return result


def sorted_orders(orders: WorkingOrders) -> dict[AccountId, list[OrderId]]:
    return {a: sorted(ids) for a, ids in orders.orders.items()}


async def every_account_answered_right(nc: Client, subjects: Subjects) -> None:
    wanted = expected()
    for _ in range(ASKED_PER_ACCOUNT):
        for account_id, orders in wanted.items():
            answer = await answered(nc, subjects, account_id)
            assert sorted_orders(answer) == {account_id: orders}, account_id
    assert sorted_orders(await answered(nc, subjects, None)) == wanted


async def outcome(nc: Client, subjects: Subjects, account_id: AccountId | None) -> str:
    """How a request fares: a right answer, ``unavailable``, no responders, or a timeout (a
    wrong answer fails the test)."""
    wanted = expected()
    try:
        reply = await ask(nc, subjects, account_id)
    except NoRespondersError:
        return "no responders"
    except NatsTimeout:
        return "timeout"
    if not reply.ok:
        return reply.error_code or "error"
    assert reply.result is not None
    right = wanted if account_id is None else {account_id: wanted[account_id]}
    assert sorted_orders(reply.result) == right, account_id
    return "right"


@pytest.mark.timeout(90)
async def test_every_accounts_working_orders_are_answered_by_either_replica_and_after_a_kill(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    lease_bucket: KeyValue,  # noqa: F811
) -> None:
    for a in range(ACCOUNTS):
        for n in range(ORDERS_PER_ACCOUNT):
            await place(
                nats_client,
                subjects,
                placed(f"o{a}-{n}", quantity="1", account=account(a), ts=at(0)),
            )
    async with two_replicas(nats_url, subjects, lease_bucket) as first:
        await every_account_answered_right(nats_client, subjects)

        first.proc.kill()  # SIGKILL: its leases expire, never handed back
        await first.proc.wait()  # (a request it received before it died is lost)
        killed = time.monotonic()
        outcomes: Counter[str] = Counter()
        asked = [None, *expected()]
        while time.monotonic() - killed < 2:  # the takeover as a caller sees it
            which = asked[sum(outcomes.values()) % len(asked)]
            outcomes[await outcome(nats_client, subjects, which)] += 1
        print(f"answers in the 2 s after the kill: {dict(outcomes)}")
        assert outcomes["timeout"] == 0, outcomes
        await until_held(lease_bucket, {"b"}, 15)
        await every_account_answered_right(nats_client, subjects)
        print(f"every account answered right again {time.monotonic() - killed:.2f} s after")
