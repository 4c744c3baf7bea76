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
    env = _environment(nats_url, dsn, subjects)
    client = PortfolioClient(nats_client, subjects)
    try:
        async with running("portfolio", env) as portfolio, running("execution", env):
            await _working(nats_client, subjects, client, _buy_limit("in-flight"))

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


def _environment(nats_url: str, dsn: str, subjects: Subjects) -> dict[str, str]:
    return {
        "NATS_URL": nats_url,
        "DATABASE_URL": dsn,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
    }


def _buy_limit(order_id: str, **bracket: Decimal) -> PlaceOrder:
    """A limit buy of 10 AAPL at 149 (with ``stop_loss`` and ``take_profit``, a bracket)."""
    return PlaceOrder(
        account_id=ACC,
        order_id=OrderId(order_id),
        symbol=AAPL,
        side=OrderSide.BUY,
        quantity=Decimal(10),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(149),
        **bracket,  # type: ignore[arg-type]
    )


async def _working(
    nc: Client, subjects: Subjects, client: PortfolioClient, order: PlaceOrder
) -> None:
    """Once portfolio answers: AAPL at 150, the account opened and funded, ``order`` placed
    and relayed to the venue."""
    await until(lambda: _answers(client))
    await nc.publish(subjects.quote(AAPL), encode(_tick("150")))
    await client.command(OpenAccount(account_id=ACC, name="Outage"))
    await client.command(Deposit(account_id=ACC, amount=Decimal(90_000)))
    placed_seen = await nc.subscribe(subjects.account_event(ACC, "order_placed"))
    placed = await client.command(order)
    assert placed.result["events"][0]["data"]["type"] == "order_placed.v1", placed
    await placed_seen.next_msg(timeout=30)  # relayed: the venue has it
    await asyncio.sleep(1.0)


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


@pytest.mark.timeout(300)
async def test_fills_reported_during_an_outage_are_applied_in_the_venues_order(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    server_data_dir: Path,
) -> None:
    """A bracket's entry fills, then its take-profit, while the database is down. The entry's
    report has been NACKed more often, so JetStream would hand back the take-profit's first:
    applied first, it would be refused as a short sale and the account would keep a position
    the venue closed. Both must go in, entry first, and the account end flat."""
    database = EmbeddedPostgres(server_data_dir, durable=False).start()
    port = database.port
    dsn = await create_database(database.url(), "papertape")
    env = _environment(nats_url, dsn, subjects)
    client = PortfolioClient(nats_client, subjects)
    try:
        async with running("portfolio", env) as portfolio, running("execution", env):
            bracket = _buy_limit("entry", stop_loss=Decimal(140), take_profit=Decimal(155))
            await _working(nats_client, subjects, client, bracket)

            database.stop()
            await nats_client.publish(subjects.quote(AAPL), encode(_tick("148")))  # entry fills
            await asyncio.sleep(8.0)  # its report is NACKed four times: next try in 15 s
            await nats_client.publish(subjects.quote(AAPL), encode(_tick("156")))  # TP fills
            await asyncio.sleep(4.0)  # the take-profit's report would come back first
            database = EmbeddedPostgres(server_data_dir, durable=False, port=port).start()

            await until(lambda: _flat(client), seconds=120)
            activity = await client.query("activity", GetActivity(account_id=ACC))
            assert "dead_letter" not in portfolio.output()
        types = [event["data"]["type"] for event in activity.result]
        fills = [event["data"] for event in activity.result if "filled" in event["data"]["type"]]
        assert not any(t.startswith("fill_rejected") for t in types), types
        assert [(f["side"], f["quantity"]) for f in fills] == [("buy", "10"), ("sell", "10")]
        assert await _dead_letters(nats_client, subjects) == 0
    finally:
        database.stop()


async def _flat(client: PortfolioClient) -> bool:
    """Both fills applied (or one refused): the entry and the take-profit are in."""
    try:
        activity = await client.query("activity", GetActivity(account_id=ACC))
    except (NoRespondersError, TimeoutError):
        return False
    if not activity.ok:
        return False
    types: list[str] = [event["data"]["type"] for event in activity.result]
    done = sum(t.startswith(("order_filled", "fill_rejected")) for t in types)
    return done >= 2
