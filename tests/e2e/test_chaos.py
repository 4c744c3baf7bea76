"""kill -9 of each service under load, under ``papertape run``: nothing acknowledged is lost.

``papertape run`` (embedded NATS with its logins, embedded PostgreSQL) runs every service;
clients place market orders on several accounts while portfolio, execution and market-data
are each killed with SIGKILL at a random moment and restarted by the supervisor. Afterwards:
every acknowledged order is in the log exactly once, no fill is applied twice, every
acknowledged market order filled, and ``papertape audit verify`` finds the chain intact and
every account equal to a fresh replay of its log (its live state included). The recovery
time of each kill is printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.contract.events.account import Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import ListAccounts
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import Subjects
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACCOUNTS = [AccountId(f"chaos-{n}") for n in range(4)]
BTC = Symbol("BTCUSD")  # trades around the clock, unlike the equities
VICTIMS = {"portfolio": "portfolio", "execution": "execution", "marketdata": "market-data"}


class Run:
    """``papertape run`` as a child, its console kept line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    async def until(self, pattern: str, after: int = 0, seconds: float = 120) -> int:
        """The index of the first line from ``after`` on matching ``pattern``."""
        found = re.compile(pattern)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for index in range(after, len(self.lines)):
                if found.search(self.lines[index]):
                    return index
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {pattern!r}:\n" + "\n".join(self.lines[-80:]))

    def pid(self, service: str) -> int:
        started = [
            m for line in self.lines if (m := re.search(rf"started {service} \(pid (\d+)", line))
        ]
        return int(started[-1][1])


async def _place(client: PortfolioClient, serial: int, acknowledged: list[str]) -> None:
    order_id = f"chaos-{serial}"
    order = PlaceOrder(
        account_id=ACCOUNTS[serial % len(ACCOUNTS)],
        order_id=OrderId(order_id),
        symbol=BTC,
        side=OrderSide.BUY if serial % 3 else OrderSide.SELL,
        quantity=Decimal("0.01"),
        order_type=OrderType.MARKET,
    )
    try:
        reply = await client.command(order)
    except (NoRespondersError, NatsTimeout, TimeoutError):
        return  # not acknowledged: the client would retry, or not
    events = (reply.result or {}).get("events", []) if reply.ok else []
    if events and events[0]["data"]["type"].startswith("order_placed"):
        acknowledged.append(order_id)


async def _load(client: PortfolioClient, stop: asyncio.Event, acknowledged: list[str]) -> int:
    serial = 0
    while not stop.is_set():
        await asyncio.gather(*(_place(client, serial + n, acknowledged) for n in range(4)))
        serial += 4
        await asyncio.sleep(0.05)
    return serial


@pytest.mark.timeout(480)
async def test_kill_9_of_each_service_under_load_loses_and_duplicates_nothing(
    server_data_dir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    env |= {"PAPERTAPE_METRICS_PORT": "0", "PAPERTAPE_NAMESPACE": "chaos", "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "papertape.cli", "run",
        cwd=server_data_dir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    run = Run(proc)
    rng = random.Random(os.getpid())
    recovery: dict[str, float] = {}
    try:
        await run.until(r"\| READY \(", seconds=180)
        urls = json.loads((server_data_dir / ".papertape" / "urls.json").read_text())
        nc = await nats.connect(urls["nats_url"], max_reconnect_attempts=-1)
        client = PortfolioClient(nc, Subjects("chaos"))
        for _ in range(100):
            try:
                await client.query("accounts", ListAccounts())
                break
            except NoRespondersError:
                await asyncio.sleep(0.1)
        for account in ACCOUNTS:
            await client.command(OpenAccount(account_id=account, name=account))
            await client.command(Deposit(account_id=account, amount=Decimal(1_000_000)))
        stop = asyncio.Event()
        acknowledged: list[str] = []
        load = asyncio.create_task(_load(client, stop, acknowledged))
        for service in rng.sample(sorted(VICTIMS), len(VICTIMS)):
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            mark = len(run.lines)
            os.killpg(run.pid(service), signal.SIGKILL)  # each child leads its own group
            killed_at = time.monotonic()
            await run.until(rf"READY {VICTIMS[service]}\b", after=mark, seconds=120)
            recovery[service] = time.monotonic() - killed_at
        await asyncio.sleep(2.0)
        stop.set()
        sent = await load
        database = urls["database_url"]
        filled = await _wait_filled(database, acknowledged)
        await nc.close()
        verify = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "papertape.cli", "audit", "verify",
            cwd=server_data_dir, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        verified, _ = await verify.communicate()
        placed, fills = await _log_counts(database)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 60)
        await run.reader
    print(
        f"chaos: {sent} orders sent, {len(acknowledged)} acknowledged; kills survived: "
        + ", ".join(f"{name} back in {seconds:.1f}s" for name, seconds in recovery.items())
    )
    assert sorted(recovery) == sorted(VICTIMS)
    assert len(acknowledged) > 20, "the load never got going"
    assert [o for o in acknowledged if placed.get(o, 0) != 1] == [], "lost or doubled orders"
    assert [f for f, n in fills.items() if n != 1] == [], "a fill applied twice"
    assert set(acknowledged) <= filled, "an acknowledged market order never filled"
    assert verify.returncode == 0, verified.decode()
    assert code == 0, "\n".join(run.lines[-40:])


async def _log_counts(database: str) -> tuple[dict[str, int], dict[str, int]]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT type, data::jsonb->>'order_id' AS order_id, data::jsonb->>'fill_id' AS fill_id "
            "FROM events WHERE type IN ('order_placed', 'order_filled')"
        )
    finally:
        await conn.close()
    placed: dict[str, int] = {}
    fills: dict[str, int] = {}
    for row in rows:
        if row["type"] == "order_placed":
            placed[row["order_id"]] = placed.get(row["order_id"], 0) + 1
        else:
            fills[row["fill_id"]] = fills.get(row["fill_id"], 0) + 1
    return placed, fills


async def _wait_filled(database: str, acknowledged: list[str], seconds: float = 90) -> set[str]:
    """The acknowledged orders with a fill in the log, once all have one (or time is up)."""
    conn = await asyncpg.connect(database)
    try:
        deadline = time.monotonic() + seconds
        while True:
            rows = await conn.fetch(
                "SELECT DISTINCT data::jsonb->>'order_id' AS order_id FROM events "
                "WHERE type = 'order_filled'"
            )
            filled = {row["order_id"] for row in rows}
            if set(acknowledged) <= filled or time.monotonic() > deadline:
                return filled
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
