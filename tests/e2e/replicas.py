"""Replicas of portfolio (and execution) as processes, orders across many accounts, one replica
of each SIGKILLed mid-run: the scenario of the replica tests and of the replica bench.

Every replica runs ``python -m papertape.<service>`` with ``PAPERTAPE_PARTITIONS`` and its own
``PAPERTAPE_REPLICA``. Clients place market orders, ``CONCURRENCY`` at a time, each with its
own request id, retried with the same id after a timeout, "no responders" or ``unavailable``
(what a client does during a takeover): a retry is idempotent. Afterwards ``Outcome`` holds
what the invariants need, read from the log: how often each order was placed and each fill
applied, which orders ended, whether every account's versions are 1..n, and whether ACCOUNTS
holds every account's events in the log's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import msgspec
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.common.bus import leases
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import encode
from papertape.contract.events.account import Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.envelope import Request
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import GetAccountSummary, ListAccounts
from papertape.contract.ids import AccountId, Actor, OrderId, Symbol
from papertape.contract.partitions import partition_of
from papertape.contract.subjects import Subjects
from papertape.trading.venue.scenarios import quote
from tests.e2e.chaos import _log_counts, _wait_ended
from tests.e2e.processes import ServiceProcess, start_service
from tests.portfolio.conftest import Answer, replies

BTC = Symbol("BTCUSD")
CONCURRENCY = 24
TIMEOUT_S = 2.0
RETRIES = 60
OWNERSHIP = re.compile(r"(took|gave up) partition (\d+)")
SERVING = re.compile(r"took partition (\d+): .* \(serving at (\S+)\)")


@dataclass
class Load:
    """What the clients did: the orders acknowledged, and when."""

    acknowledged: list[str] = field(default_factory=list)
    retries: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0


@dataclass
class Outcome:
    """What the log and ACCOUNTS say after a run."""

    placed: dict[str, int]
    fills: dict[str, int]
    ended: set[str]
    gaps: list[str]
    out_of_order: list[str]


def problems(load: Load, result: Outcome) -> list[str]:
    """The invariants a run must hold, as the ones it broke."""
    found = []
    if lost := [o for o in load.acknowledged if result.placed.get(o, 0) != 1]:
        found.append(f"orders lost or doubled in the log: {lost[:10]}")
    if doubled := [f for f, n in result.fills.items() if n != 1]:
        found.append(f"fills applied twice: {doubled[:10]}")
    if unfilled := sorted(set(load.acknowledged) - result.ended):
        found.append(f"{len(unfilled)} orders never filled: {unfilled[:10]}")
    if result.gaps:
        found.append(f"accounts whose versions are not 1..n: {result.gaps[:10]}")
    if result.out_of_order:
        found.append(f"accounts out of the log's order on ACCOUNTS: {result.out_of_order[:10]}")
    return found


@contextlib.asynccontextmanager
async def lease_bucket(nc: Client, subjects: Subjects) -> AsyncIterator[None]:
    """The key-value bucket the operator declares beside the streams (execution's leases),
    deleted after."""
    js, name = nc.jetstream(), subjects.lease_bucket("execution")
    await leases.declare_bucket(js, name)
    try:
        yield
    finally:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_key_value(name)


class Trader:
    """A client of portfolio that retries a request with its id until it is answered."""

    def __init__(self, nc: Client, subjects: Subjects) -> None:
        self.nc, self.subjects, self.ids = nc, subjects, Uuid7Generator()

    async def ask(self, subject: str, body: object, load: Load | None = None) -> Answer:
        request = Request(
            request_id=self.ids.new(), issued_at=datetime.now(UTC), actor=Actor("test"), body=body
        )
        payload = encode(request)
        for _attempt in range(RETRIES):
            try:
                answer = replies.decode((await self.nc.request(subject, payload, TIMEOUT_S)).data)
            except (NoRespondersError, NatsTimeout, TimeoutError):
                answer = None
            if answer is not None and answer.error_code != "unavailable":
                return answer
            if load is not None:
                load.retries += 1
            await asyncio.sleep(0.2)
        raise AssertionError(f"{subject}: never answered after {RETRIES} attempts")

    async def command(self, body: object, load: Load | None = None) -> Answer:
        return await self.ask(self.subjects.portfolio_command(), body, load)

    async def query(self, name: str, body: object) -> Answer:
        return await self.ask(self.subjects.portfolio_query(name), body)


def accounts(count: int) -> list[AccountId]:
    return [AccountId(f"replica-{n}") for n in range(count)]


async def open_accounts(trader: Trader, names: list[AccountId]) -> None:
    for name in names:
        opened = await trader.command(OpenAccount(account_id=name, name=name))
        assert opened.ok, opened
        funded = await trader.command(Deposit(account_id=name, amount=Decimal(10_000_000)))
        assert funded.ok, funded


async def place_orders(trader: Trader, names: list[AccountId], orders: int, load: Load) -> None:
    """``orders`` market buys spread over ``names``, ``CONCURRENCY`` in flight."""
    serials = iter(range(orders))

    async def worker() -> None:
        for serial in serials:
            order_id = f"r-{serial}"
            order = PlaceOrder(
                account_id=names[serial % len(names)],
                order_id=OrderId(order_id),
                symbol=BTC,
                side=OrderSide.BUY,
                quantity=Decimal("0.01"),
                order_type=OrderType.MARKET,
            )
            answer = await trader.command(order, load)
            assert answer.ok, answer
            load.acknowledged.append(order_id)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    load.ended = time.monotonic()


async def tick(nc: Client, subjects: Subjects) -> None:
    """A live BTCUSD feed on MARKET (every order is a market order: it fills on the next)."""
    js = nc.jetstream()
    while True:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await js.publish(
                subjects.quote(BTC), encode(quote("99.99", "100.01", datetime.now(UTC), symbol=BTC))
            )
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def replicas(
    service: str, count: int, env: Mapping[str, str], partitions: int
) -> AsyncIterator[list[ServiceProcess]]:
    """``count`` replicas of ``service`` (one process of one partition when ``count`` is 1)."""
    started = [
        await start_service(
            service,
            {
                **env,
                "PAPERTAPE_PARTITIONS": str(partitions if count > 1 else 1),
                "PAPERTAPE_REPLICA": f"{service}-{n}",
            },
        )
        for n in range(1, count + 1)
    ]
    try:
        for process in started:
            await process.wait_ready()
        yield started
    finally:
        for process in started:
            await process.stop()


def partitions_held(process: ServiceProcess) -> set[int]:
    """The partitions a replica holds, by its log (those it took and did not give up)."""
    held: set[int] = set()
    for line in process.lines:
        if m := OWNERSHIP.search(line):
            (held.add if m.group(1) == "took" else held.discard)(int(m.group(2)))
    return held


async def kill(process: ServiceProcess) -> float:
    """SIGKILL, once it is dead (its sockets closed); when it was sent (epoch seconds)."""
    process.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    await process.proc.wait()
    return killed_at


def served_again_s(survivors: list[ServiceProcess], lost: set[int], killed_at: float) -> float:
    """Seconds from the kill until a survivor served the last of the ``lost`` partitions, by
    the survivors' logs (the moment each started serving one)."""
    serving: dict[int, float] = {}
    for process in survivors:
        for line in process.lines:
            if (m := SERVING.search(line)) and int(m.group(1)) in lost:
                at = datetime.fromisoformat(m.group(2)).timestamp()
                if at >= killed_at:
                    serving[int(m.group(1))] = max(serving.get(int(m.group(1)), 0.0), at)
    missing = lost - set(serving)
    assert not missing, f"partitions {sorted(missing)} never served again"
    return max(serving.values()) - killed_at


async def takeover_seconds(
    trader: Trader, names: list[AccountId], lost: set[int], partitions: int, killed_at: float
) -> float:
    """Seconds from the kill (epoch seconds) until an account of every partition the victim
    held answers a query."""
    probes = {partition_of(a, partitions): a for a in names}
    for k in sorted(lost):
        if k in probes:
            answer = await trader.query("summary", GetAccountSummary(account_id=probes[k]))
            assert answer.ok, answer
    return time.time() - killed_at


async def fills_resume_s(
    trader: Trader, database: str, names: list[AccountId], partitions: int, killed_at: float
) -> float:
    """Seconds from the kill (epoch seconds) until an order placed after it on an account of
    every partition is filled in the log (the venue's takeover, seen from outside)."""
    probes = sorted({partition_of(a, partitions): a for a in names}.items())
    placed: list[str] = []
    for k, account in probes:
        order = PlaceOrder(
            account_id=account,
            order_id=OrderId(f"probe-{k}"),
            symbol=BTC,
            side=OrderSide.BUY,
            quantity=Decimal("0.01"),
            order_type=OrderType.MARKET,
        )
        answer = await trader.command(order)
        assert answer.ok, answer
        placed.append(order.order_id)
    ended = await _wait_ended(database, placed, 45, ("order_filled",))
    assert set(placed) <= ended, f"probes never filled: {sorted(set(placed) - ended)}"
    return time.time() - killed_at


async def all_listed(trader: Trader, names: list[AccountId]) -> bool:
    answer = await trader.query("accounts", ListAccounts())
    return answer.ok and sorted(a["account_id"] for a in answer.result) == sorted(names)


async def filled(database: str, load: Load) -> set[str]:
    """The orders filled in the log, once every acknowledged one is (or 45 s passed)."""
    return await _wait_ended(database, load.acknowledged, 45, ("order_filled",))


async def outcome(database: str, nc: Client, subjects: Subjects, load: Load) -> Outcome:
    """Read the log and ACCOUNTS once every acknowledged order ended (or 45 s passed)."""
    ended = await filled(database, load)
    placed, fills = await _log_counts(database)
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT stream_id, array_agg(stream_version ORDER BY position) AS versions, "
            "array_agg(event_id::text ORDER BY position) AS ids FROM events "
            "WHERE stream_id LIKE 'account-%' GROUP BY stream_id"
        )
    finally:
        await conn.close()
    gaps = [
        r["stream_id"]
        for r in rows
        if list(r["versions"]) != list(range(1, len(r["versions"]) + 1))
    ]
    relayed = await _relayed_ids(nc, subjects, sum(len(r["ids"]) for r in rows))
    out_of_order = [
        r["stream_id"]
        for r in rows
        if [
            i
            for i in relayed.get(r["stream_id"].removeprefix("account-"), [])
            if i in set(r["ids"])
        ]
        != list(r["ids"])
    ]
    return Outcome(placed, fills, ended, gaps, out_of_order)


class _Relayed(msgspec.Struct):
    event_id: str


async def _relayed_ids(nc: Client, subjects: Subjects, expected: int) -> dict[str, list[str]]:
    """The event ids on ACCOUNTS per account, in stream order (once the relay caught up)."""
    js = nc.jetstream()
    deadline = time.monotonic() + 20
    while (await js.stream_info(subjects.stream("ACCOUNTS"))).state.messages < expected:
        assert time.monotonic() < deadline, "the relay never caught up with the log"
        await asyncio.sleep(0.2)
    sub = await js.subscribe(subjects.all_account_events(), ordered_consumer=True)
    seen: dict[str, list[str]] = {}
    total = (await js.stream_info(subjects.stream("ACCOUNTS"))).state.messages
    for _ in range(total):
        msg = await sub.next_msg(timeout=5)
        account = msg.subject.split(".")[-2]
        seen.setdefault(account, []).append(msgspec.json.decode(msg.data, type=_Relayed).event_id)
    await sub.unsubscribe()
    return seen
