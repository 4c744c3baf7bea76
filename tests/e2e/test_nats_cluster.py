"""Trading on a three-node JetStream cluster, one node SIGKILLed mid-run: nothing acknowledged
is lost.

Three routed ``nats-server`` processes (tests/e2e/cluster.py); every stream declared at three
replicas by ``papertape streams declare --replicas 3``, the start-up step deploy/ runs; portfolio
and execution as processes given the cluster's URLs. Clients place market orders on several
accounts while the test feeds quotes; once the load runs, the node that leads ACCOUNTS is
killed. Every acknowledged order must then be in the log once and filled once, and every
order and fill event of the log must be on the surviving replicas of ACCOUNTS exactly once;
the killed server, started again, catches up as a current replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from papertape.contract.codec import encode
from papertape.contract.events.account import Deposit, OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import Subjects
from papertape.trading.venue.scenarios import quote
from tests.e2e.chaos import _log_counts, _wait_ended
from tests.e2e.cluster import NatsCluster
from tests.e2e.processes import running, service_env
from tests.e2e.test_nats_restart import _answers
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACCOUNTS = [AccountId(f"cluster-{n}") for n in range(3)]
BTC = Symbol("BTCUSD")
REPLICAS = 3
LOAD_BEFORE_KILL = 20
LOAD_AFTER_KILL = 30


@pytest.mark.timeout(150)  # one redelivery after the ack wait (30 s) takes it past 60 s
async def test_a_node_killed_mid_run_loses_nothing_acknowledged(
    fresh_database: str, server_data_dir: Path
) -> None:
    began = time.monotonic()
    subjects = Subjects("cluster")
    cluster = NatsCluster(server_data_dir).start()
    try:
        await cluster.wait_for_jetstream()
        await _declare_streams(cluster.url, subjects)
        nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream(timeout=5)
        for spec in subjects.streams():
            info = await js.stream_info(spec.name)
            assert info.config.num_replicas == REPLICAS, spec.name
            assert info.cluster is not None
            assert len(info.cluster.replicas or []) == REPLICAS - 1, spec.name
        client = PortfolioClient(nc, subjects)
        env = service_env(cluster.url, fresh_database, subjects.namespace)
        ticker = asyncio.create_task(_tick(js, subjects))
        async with running("portfolio", env) as portfolio, running("execution", env) as execution:
            await _until(lambda: _answers(client), "portfolio never answered")
            for account in ACCOUNTS:
                await client.command(OpenAccount(account_id=account, name=account))
                await client.command(Deposit(account_id=account, amount=Decimal(1_000_000)))
            stop = asyncio.Event()
            acknowledged: list[str] = []
            load = asyncio.create_task(_load(client, stop, acknowledged))
            await _until(lambda: _at_least(acknowledged, LOAD_BEFORE_KILL), "no load")

            accounts_stream = await js.stream_info(subjects.stream("ACCOUNTS"))
            assert accounts_stream.cluster is not None
            victim = accounts_stream.cluster.leader
            assert victim is not None
            at_kill = len(acknowledged)
            cluster.kill(victim)
            killed_at = time.monotonic()
            await _until(
                lambda: _at_least(acknowledged, at_kill + LOAD_AFTER_KILL),
                "trading did not go on after the node died",
            )
            resumed_s = time.monotonic() - killed_at
            stop.set()
            sent = await load
            # An order the dead node's consumer leader had handed out unacknowledged comes
            # again after the consumer's ack wait (30 s): the bound allows for one.
            filled = await _wait_ended(fresh_database, acknowledged, 45, ("order_filled",))
            settled_s = time.monotonic() - killed_at
            logs = f"portfolio:\n{portfolio.output()}\nexecution:\n{execution.output()}"
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        after = await js.stream_info(subjects.stream("ACCOUNTS"))
        cluster.restart(victim)
        rejoined = await _caught_up(js, subjects.stream("ACCOUNTS"), victim)
        logged = await _order_event_ids(fresh_database)
        relayed = await _relayed(js, subjects, set(logged))
        await nc.close()
    finally:
        cluster.stop()
    placed, fills = await _log_counts(fresh_database)
    print(
        f"cluster: {sent} orders sent, {len(acknowledged)} acknowledged ({at_kill} before "
        f"{victim} was killed); {LOAD_AFTER_KILL} more within {resumed_s:.1f}s, all filled "
        f"{settled_s:.1f}s after the kill; "
        f"{time.monotonic() - began:.1f}s in all"
    )
    assert after.cluster is not None
    assert after.cluster.leader not in (None, victim), "ACCOUNTS has a new leader"
    assert rejoined, f"{victim} never caught up with ACCOUNTS after its restart"
    assert [o for o in acknowledged if placed.get(o, 0) != 1] == [], "lost or doubled in the log"
    assert [f for f, n in fills.items() if n != 1] == [], "a fill applied twice"
    unfilled = sorted(set(acknowledged) - filled)
    assert unfilled == [], f"acknowledged orders never filled: {unfilled}\n{logs}"
    missing = [event_id for event_id in logged if relayed.get(event_id, 0) == 0]
    assert missing == [], f"{len(missing)} logged events not on the surviving replicas"
    assert [e for e in logged if relayed[e] != 1] == [], "an event relayed twice"


async def _declare_streams(nats_url: str, subjects: Subjects) -> None:
    """The deployment's start-up step, as its command line runs it."""
    declare = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "papertape.cli", "streams", "declare",
        "--replicas", str(REPLICAS), "--nats-url", nats_url, "--namespace", subjects.namespace,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await declare.communicate()
    assert declare.returncode == 0, output.decode()


async def _tick(js: JetStreamContext, subjects: Subjects) -> None:
    """A live feed of BTCUSD quotes on MARKET; a publish refused during an election (an error,
    or an empty reply nats-py cannot decode) is skipped."""
    while True:
        tick = quote("99.99", "100.01", datetime.now(UTC), symbol=BTC)
        with contextlib.suppress(nats.errors.Error, TimeoutError, ValueError):
            await js.publish(subjects.quote(BTC), encode(tick), timeout=1)
        await asyncio.sleep(0.1)


async def _place(client: PortfolioClient, serial: int, acknowledged: list[str]) -> None:
    order_id = f"cluster-{serial}"
    order = PlaceOrder(
        account_id=ACCOUNTS[serial % len(ACCOUNTS)],
        order_id=OrderId(order_id),
        symbol=BTC,
        side=OrderSide.BUY,
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
        await asyncio.gather(*(_place(client, serial + n, acknowledged) for n in range(3)))
        serial += 3
        await asyncio.sleep(0.05)
    return serial


async def _until(check: object, failure: str, seconds: float = 30.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(failure)


async def _at_least(acknowledged: list[str], count: int) -> bool:
    return len(acknowledged) >= count


async def _caught_up(js: JetStreamContext, stream: str, node: str, seconds: float = 15.0) -> bool:
    """Whether ``node``, started again, is a current replica of ``stream`` in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            cluster = (await js.stream_info(stream)).cluster
            assert cluster is not None, "a clustered stream"
            current = [p.name for p in cluster.replicas or [] if p.current and not p.offline]
            if node in [cluster.leader, *current]:
                return True
        await asyncio.sleep(0.3)
    return False


async def _order_event_ids(database: str) -> list[str]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT event_id::text AS event_id FROM events "
            "WHERE type IN ('order_placed', 'order_filled') ORDER BY position"
        )
    finally:
        await conn.close()
    return [row["event_id"] for row in rows]


async def _relayed(
    js: JetStreamContext, subjects: Subjects, wanted: set[str], seconds: float = 20.0
) -> dict[str, int]:
    """How often each event id is on ACCOUNTS, once ``wanted`` are all there (or time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        counts: dict[str, int] = {}
        sub = await js.subscribe(subjects.all_account_events(), ordered_consumer=True)
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=1)
                except (TimeoutError, NatsTimeout):
                    break
                event_id = (msg.headers or {}).get("Nats-Msg-Id", "")
                counts[event_id] = counts.get(event_id, 0) + 1
        finally:
            await sub.unsubscribe()
        if wanted <= counts.keys() or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.5)
