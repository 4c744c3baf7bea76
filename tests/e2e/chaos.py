"""kill -9 of services under load, under ``papertape run``: the scenario, for the test in
``make test`` (one round) and the soak in ``make bench`` (many).

``papertape run`` (embedded NATS with its logins, embedded PostgreSQL) runs every service;
clients place market orders on several accounts while, each round, portfolio, execution and
market-data are each killed with SIGKILL at a random moment and restarted by the supervisor.
Afterwards the result holds what the invariants need: the acknowledged orders, how often each
order and fill is in the log, which orders ended, ``papertape audit verify``'s answer (chain
intact, every account equal to a fresh replay, live state included) and each kill's recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.contract.codec import encode
from papertape.contract.events.account import CancelOrder, Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import GetOpenOrders, ListAccounts
from papertape.contract.ids import AccountId, Actor, OrderId, Symbol
from papertape.contract.subjects import Subjects
from tests.portfolio.conftest import PortfolioClient

ACCOUNTS = [AccountId(f"chaos-{n}") for n in range(4)]
BTC = Symbol("BTCUSD")  # trades around the clock, unlike the equities
STALLABLE = {"nats": "nats/nats-server.pid", "postgres": "postgres/data/postmaster.pid"}
"""The servers ``papertape run`` started, by the file holding their pid."""
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
    """A market order, or (every fifth) a buy limit far below the market that rests, half of
    which are cancelled again: the venue and the accounts must agree on what still works."""
    order_id = f"chaos-{serial}"
    account = ACCOUNTS[serial % len(ACCOUNTS)]
    resting = serial % 5 == 0
    order = PlaceOrder(
        account_id=account,
        order_id=OrderId(order_id),
        symbol=BTC,
        side=OrderSide.BUY if serial % 3 or resting else OrderSide.SELL,
        quantity=Decimal("0.01"),
        order_type=OrderType.LIMIT if resting else OrderType.MARKET,
        limit_price=Decimal(1) if resting else None,
    )
    try:
        reply = await client.command(order)
    except (NoRespondersError, NatsTimeout, TimeoutError):
        return  # not acknowledged: the client would retry, or not
    events = (reply.result or {}).get("events", []) if reply.ok else []
    if not events or not events[0]["data"]["type"].startswith("order_placed"):
        return
    if not resting:
        acknowledged.append(order_id)
    elif serial % 10 == 0:
        with contextlib.suppress(NoRespondersError, NatsTimeout, TimeoutError):
            await client.command(CancelOrder(account_id=account, order_id=OrderId(order_id)))


async def _load(client: PortfolioClient, stop: asyncio.Event, acknowledged: list[str]) -> int:
    serial = 0
    while not stop.is_set():
        await asyncio.gather(*(_place(client, serial + n, acknowledged) for n in range(4)))
        serial += 4
        await asyncio.sleep(0.05)
    return serial


@dataclass
class ChaosResult:
    """What a chaos run saw, for its invariants."""

    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)
    fills: dict[str, int] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    """Orders filled, or ended otherwise (expired after a fill the account refused)."""
    open_orders: set[str] = field(default_factory=set)
    """What the accounts list as working at the end."""
    venue_orders: set[str] | None = None
    """What the venue works at the end (None: execution did not answer)."""
    verify_code: int | None = None
    verify_output: str = ""
    recovery: list[tuple[str, float]] = field(default_factory=list)
    stalls: list[tuple[str, float]] = field(default_factory=list)
    exit_code: int | None = None
    console: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every invariant that does not hold (empty: nothing lost, doubled or broken)."""
        found = []
        if len(self.acknowledged) < 20:
            found.append(f"the load never got going ({len(self.acknowledged)} acknowledged)")
        if lost := [o for o in self.acknowledged if self.placed.get(o, 0) != 1]:
            found.append(f"acknowledged orders lost or doubled in the log: {lost[:5]}")
        if doubled := [f for f, n in self.fills.items() if n != 1]:
            found.append(f"fills applied more than once: {doubled[:5]}")
        if unended := sorted(set(self.acknowledged) - self.ended):
            found.append(f"acknowledged orders that never ended: {unended[:5]}")
        if self.venue_orders != self.open_orders:
            venue = self.venue_orders or set()
            only_accounts = sorted(self.open_orders - venue)[:5]
            only_venue = sorted(venue - self.open_orders)[:5]
            found.append(
                f"account and venue disagree: only in the accounts {only_accounts},"
                f" only in the venue {only_venue}"
            )
        if self.verify_code != 0:
            found.append("audit verify failed:\n" + self.verify_output[-2000:])
        if self.exit_code != 0:
            found.append("papertape run did not stop cleanly:\n" + "\n".join(self.console[-40:]))
        return found

    def summary(self) -> str:
        kills = ", ".join(f"{name} back in {seconds:.1f}s" for name, seconds in self.recovery)
        stalls = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.stalls)
        return (
            f"chaos: {self.sent} orders sent, {len(self.acknowledged)} acknowledged; "
            f"{len(self.recovery)} kills survived: {kills}"
            + (f"; servers stalled: {stalls}" if stalls else "")
        )


async def chaos(
    folder: Path, rounds: int = 1, seed: int | None = None, *, outages: bool = False
) -> ChaosResult:
    """Run ``papertape run`` in ``folder`` under load and kill each service ``rounds`` times;
    with ``outages``, each round also stalls NATS and PostgreSQL (SIGSTOP, then SIGCONT after
    5-10 s: every connection hangs, as in a network partition or a frozen host)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    env |= {
        "PAPERTAPE_METRICS_PORT": "0",
        "PAPERTAPE_HTTP_PORT": "0",  # a free port: a `make run` beside the tests may hold 8000
        "PAPERTAPE_NAMESPACE": "chaos",
        "PYTHONUNBUFFERED": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "papertape.cli", "run",
        cwd=folder, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    run = Run(proc)
    rng = random.Random(os.getpid() if seed is None else seed)
    result = ChaosResult()
    try:
        await run.until(r"\| READY \(", seconds=180)
        urls = json.loads((folder / ".papertape" / "urls.json").read_text())
        nc = await nats.connect(urls["nats_url"], max_reconnect_attempts=-1)
        client = PortfolioClient(nc, Subjects("chaos"))
        for _ in range(100):
            try:
                await client.query("accounts", ListAccounts())
                break
            except NoRespondersError:
                await asyncio.sleep(0.1)
        # The load's market orders need a price: on a loaded machine the first quotes can
        # come well after READY, and the orders placed before were all refused (no_market_price),
        # leaving the kills with nothing acknowledged to test.
        quoted = await nc.subscribe(Subjects("chaos").quote(BTC))
        await quoted.next_msg(timeout=60)
        await quoted.unsubscribe()
        await asyncio.sleep(0.5)  # portfolio hears the same quote
        for account in ACCOUNTS:
            await client.command(OpenAccount(account_id=account, name=account))
            await client.command(Deposit(account_id=account, amount=Decimal(1_000_000)))
        stop = asyncio.Event()
        load = asyncio.create_task(_load(client, stop, result.acknowledged))
        for _ in range(rounds):
            for service in rng.sample(sorted(VICTIMS), len(VICTIMS)):
                await asyncio.sleep(rng.uniform(2.0, 5.0))
                mark = len(run.lines)
                os.killpg(run.pid(service), signal.SIGKILL)  # each child leads its own group
                killed_at = time.monotonic()
                await run.until(rf"READY {VICTIMS[service]}\b", after=mark, seconds=120)
                result.recovery.append((service, time.monotonic() - killed_at))
            # The supervisor gives up after 5 crashes in 60 s: let the window pass, meanwhile
            # stalling the servers themselves under the load (the soak).
            if outages:
                for server, pid_file in STALLABLE.items():
                    seconds = rng.uniform(5.0, 10.0)
                    await _stall(folder / ".papertape" / pid_file, seconds)
                    result.stalls.append((server, seconds))
                    await asyncio.sleep(rng.uniform(2.0, 4.0))
            if rounds > 1:
                await asyncio.sleep(rng.uniform(10.0, 15.0))
        await asyncio.sleep(2.0)
        stop.set()
        result.sent = await load
        database = urls["database_url"]
        result.ended = await _wait_ended(database, result.acknowledged)
        result.open_orders, result.venue_orders = await _working_both_sides(nc, client)
        await nc.close()
        verify = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "papertape.cli", "audit", "verify",
            cwd=folder, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        verified, _ = await verify.communicate()
        result.verify_code, result.verify_output = verify.returncode, verified.decode()
        result.placed, result.fills = await _log_counts(database)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        result.exit_code = await asyncio.wait_for(proc.wait(), 60)
        await run.reader
        result.console = run.lines
    return result


async def _working_both_sides(
    nc: Client, client: PortfolioClient
) -> tuple[set[str], set[str] | None]:
    """The accounts' open orders and the venue's working orders, once both have settled (or
    the last of each after 20 s)."""
    accounts: set[str] = set()
    venue: set[str] | None = None
    for _ in range(40):
        accounts = set()
        for account in ACCOUNTS:
            reply = await client.query("get_open_orders", GetOpenOrders(account_id=account))
            accounts |= {order["order_id"] for order in reply.result or []}
        venue = await _venue_orders(nc)
        if venue == accounts:
            break
        await asyncio.sleep(0.5)
    return accounts, venue


async def _venue_orders(nc: Client) -> set[str] | None:
    request = Request(
        request_id=f"chaos-working-{time.monotonic_ns()}",
        issued_at=datetime.now(UTC),
        actor=Actor("chaos"),
        body=GetWorkingOrders(),
    )
    subject = Subjects("chaos").execution_query("get_working_orders")
    try:
        answer = await nc.request(subject, encode(request), timeout=10)
    except (NoRespondersError, NatsTimeout, TimeoutError):
        return None
    working = msgspec.json.decode(answer.data, type=Reply[WorkingOrders]).result
    return {o for orders in working.orders.values() for o in orders} if working else None


def _group_of(pid_file: Path) -> int:
    return os.getpgid(int(pid_file.read_text().split()[0]))


async def _stall(pid_file: Path, seconds: float) -> None:
    """Freeze a server and every process of its group for ``seconds``, then let it go on."""
    group = _group_of(pid_file)
    os.killpg(group, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        os.killpg(group, signal.SIGCONT)


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


ENDINGS = ("order_filled", "order_expired", "order_cancelled")


async def _wait_ended(
    database: str, acknowledged: list[str], seconds: float = 90, endings: tuple[str, ...] = ENDINGS
) -> set[str]:
    """The orders that ended in the log (filled, expired or cancelled: ``endings``), once every
    acknowledged one has (or time is up). A market order can end unfilled: the account
    refuses a fill that would sell more than is held by then, and the venue expires it."""
    conn = await asyncpg.connect(database)
    try:
        deadline = time.monotonic() + seconds
        while True:
            rows = await conn.fetch(
                "SELECT DISTINCT data::jsonb->>'order_id' AS order_id FROM events "
                "WHERE type = ANY($1::text[])",
                list(endings),
            )
            ended = {row["order_id"] for row in rows}
            if set(acknowledged) <= ended or time.monotonic() > deadline:
                return ended
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
