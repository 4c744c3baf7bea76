"""A 60-second PostgreSQL outage with a fill in flight: the fill waits, is never
dead-lettered, and is applied once when the database is back; clients meanwhile get
``unavailable``, never the database's address; the chain stays intact.

Portfolio and execution run as separate processes on an embedded PostgreSQL of this test
alone (stopped and started again on the same port) and the shared NATS.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.servers import EmbeddedPostgres, create_database
from papertape.contract.codec import encode
from papertape.contract.events.account import Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import GetActivity, GetPositions, ListAccounts
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.trading.venue.scenarios import quote
from tests.e2e.processes import running
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OUTAGE_S = 60.0
ACC = AccountId("outage")
AAPL = Symbol("AAPL")


@pytest.mark.timeout(300)
async def test_a_fill_during_a_60_second_database_outage_is_applied_once_it_is_back(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    server_data_dir: Path,
) -> None:
    database = EmbeddedPostgres(server_data_dir, durable=False).start()
    port = database.port
    dsn = await create_database(database.url(), "papertape")
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": dsn,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
    }
    client = PortfolioClient(nats_client, subjects)
    try:
        async with running("portfolio", env) as portfolio, running("execution", env):
            await until(lambda: _answers(client))
            await nats_client.publish(subjects.quote(AAPL), encode(_tick("150")))
            await client.command(OpenAccount(account_id=ACC, name="Outage"))
            await client.command(Deposit(account_id=ACC, amount=Decimal(90_000)))
            placed_seen = await nats_client.subscribe(subjects.account_event(ACC, "order_placed"))
            limit = PlaceOrder(
                account_id=ACC,
                order_id=OrderId("in-flight"),
                symbol=AAPL,
                side=OrderSide.BUY,
                quantity=Decimal(10),
                order_type=OrderType.LIMIT,
                limit_price=Decimal(149),
            )
            placed = await client.command(limit)
            assert placed.result["events"][0]["data"]["type"] == "order_placed.v1", placed
            await placed_seen.next_msg(timeout=30)  # relayed: the venue has it
            await asyncio.sleep(1.0)

            database.stop()
            down_at = time.monotonic()
            await nats_client.publish(subjects.quote(AAPL), encode(_tick("148")))  # it fills
            refused = await client.command(Deposit(account_id=ACC, amount=Decimal(1)))
            assert refused.error_code == "unavailable", refused
            assert str(port) not in (refused.error or ""), "the database's address leaked"
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))

            database = EmbeddedPostgres(server_data_dir, durable=False, port=port).start()
            back_at = time.monotonic()
            await until(lambda: _filled(client), seconds=120)
            recovery_s = time.monotonic() - back_at
            activity = await client.query("activity", GetActivity(account_id=ACC))
            assert "dead_letter" not in portfolio.output()
        print(f"fill applied {recovery_s:.1f}s after a {OUTAGE_S:.0f}s outage")
        types = [event["data"]["type"] for event in activity.result]
        assert sum(t.startswith("order_filled.") for t in types) == 1, types
        assert await _dead_letters(nats_client, subjects) == 0
        verify = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "papertape.cli", "audit", "verify", "--no-live",
            "--database-url", dsn,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await verify.communicate()
        assert verify.returncode == 0, output.decode()
    finally:
        database.stop()


def _tick(mid: str) -> QuoteReceived:
    price = Decimal(mid)
    cent = Decimal("0.01")
    return quote(str(price - cent), str(price + cent), datetime.now(UTC))


async def _answers(client: PortfolioClient) -> bool:
    try:
        await client.query("accounts", ListAccounts())
    except NoRespondersError:
        return False
    return True


async def _filled(client: PortfolioClient) -> bool:
    try:
        positions = await client.query("positions", GetPositions(account_id=ACC))
    except (NoRespondersError, TimeoutError):
        return False
    return bool(positions.ok and positions.result)


async def _dead_letters(nc: Client, subjects: Subjects) -> int:
    info = await nc.jetstream().stream_info(subjects.stream("DEADLETTER"))
    return info.state.messages
