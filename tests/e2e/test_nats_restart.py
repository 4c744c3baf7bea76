"""A NATS restart under portfolio and execution: they reconnect by themselves, the order that
was working fills, a new order is decided, and ACCOUNTS holds every event once, in order.

NATS here is an embedded server of this test alone, with its JetStream store on disk,
stopped and started again on the same port.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.servers import EmbeddedNats, declare_streams
from papertape.contract.codec import encode
from papertape.contract.events.account import Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import GetActivity, ListAccounts
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import Subjects
from papertape.trading.venue.scenarios import quote
from tests.e2e.processes import running
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACC = AccountId("restart")
AAPL = Symbol("AAPL")


def _order(order_id: str, limit: str) -> PlaceOrder:
    return PlaceOrder(
        account_id=ACC,
        order_id=OrderId(order_id),
        symbol=AAPL,
        side=OrderSide.BUY,
        quantity=Decimal(10),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(limit),
    )


async def _tick(nc: Client, subjects: Subjects, mid: str) -> None:
    cent, price = Decimal("0.01"), Decimal(mid)
    tick = quote(str(price - cent), str(price + cent), datetime.now(UTC))
    await nc.jetstream().publish(subjects.quote(AAPL), encode(tick))


@pytest.mark.timeout(300)
async def test_services_ride_through_a_nats_restart_and_lose_nothing(
    fresh_database: str, server_data_dir: Path
) -> None:
    subjects = Subjects("restart")
    server = EmbeddedNats(server_data_dir).start()
    port = server.port
    env = {
        "NATS_URL": server.url,
        "DATABASE_URL": fresh_database,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
    }
    try:
        nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        await declare_streams(nc, subjects.streams())
        client = PortfolioClient(nc, subjects)
        async with running("portfolio", env) as portfolio, running("execution", env) as execution:
            await until(lambda: _answers(client))
            await _tick(nc, subjects, "150")
            await client.command(OpenAccount(account_id=ACC, name="Restart"))
            await client.command(Deposit(account_id=ACC, amount=Decimal(90_000)))
            before = await client.command(_order("before", "149"))
            assert before.ok, before
            await asyncio.sleep(1.0)  # relayed to ACCOUNTS and in the venue's book

            server.stop()
            await asyncio.sleep(2.0)
            server = EmbeddedNats(server_data_dir, port=port).start()

            await until(lambda: _answers(client), seconds=60)
            await _tick(nc, subjects, "148")  # fills the order placed before the restart
            after = await client.command(_order("after", "147"))
            assert after.ok, after

            async def both_filled() -> bool:
                await _tick(nc, subjects, "146")  # a live feed: fills the one placed after it
                activity = await client.query("activity", GetActivity(account_id=ACC))
                types = [event["data"]["type"] for event in activity.result]
                return sum(str(t).startswith("order_filled.") for t in types) == 2

            try:
                await until(both_filled, seconds=45)
            except AssertionError:
                raise AssertionError(portfolio.output() + "\n" + execution.output()) from None
            activity = (await client.query("activity", GetActivity(account_id=ACC))).result
        relayed = await _relayed(nc, subjects)
        await nc.close()
    finally:
        server.stop()
    logged = [event["event_id"] for event in activity]
    assert [event_id for event_id in relayed if event_id in logged] == logged
    assert len(relayed) == len(set(relayed)), "an event relayed twice"


async def _answers(client: PortfolioClient) -> bool:
    try:
        await client.query("accounts", ListAccounts())
    except (NoRespondersError, TimeoutError, nats.errors.Error):
        return False
    return True


async def _relayed(nc: Client, subjects: Subjects) -> list[str]:
    js = nc.jetstream()
    total = (await js.stream_info(subjects.stream("ACCOUNTS"))).state.messages
    sub = await js.subscribe(subjects.account_events(ACC), ordered_consumer=True)
    seen = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=2)
            except TimeoutError:
                break
            seen.append((msg.headers or {}).get("Nats-Msg-Id", ""))
    finally:
        await sub.unsubscribe()
    assert len(seen) <= total
    return seen
