"""Replicas partitioned by account, one of each SIGKILLed mid-run: nothing lost, nothing decided
or filled twice, every account's events in order, the takeover times printed.

Two cases. Portfolio alone: two replicas of four partitions (one execution process fills the
orders), 400 orders over 24 accounts; the two split the partitions, and the survivor serves the
dead one's within a poll. Issue 15's test: two replicas each of portfolio and execution,
1,000 orders across 50 accounts, then one replica of each killed. Portfolio's owners hold
PostgreSQL advisory locks, execution's NATS KV leases. The scenario and its checks are in
tests/e2e/replicas.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import nats
import pytest

from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import ServiceProcess, service_env
from tests.e2e.replicas import (
    Load,
    Trader,
    accounts,
    all_listed,
    fills_resume_s,
    kill,
    lease_bucket,
    open_accounts,
    outcome,
    partitions_held,
    place_orders,
    problems,
    replicas,
    served_again_s,
    takeover_seconds,
    tick,
)
from tests.e2e.test_trade_flow import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PARTITIONS = 4


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("executions", "account_count", "orders"),
    [pytest.param(1, 24, 400, id="portfolio"), pytest.param(2, 50, 1_000, id="both")],
)
async def test_replicas_lose_and_double_nothing_when_one_of_each_is_killed(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    executions: int,
    account_count: int,
    orders: int,
) -> None:
    began = time.monotonic()
    names = accounts(account_count)
    env = service_env(nats_url, fresh_database, subjects.namespace)
    nc = await nats.connect(nats_url)
    trader = Trader(nc, subjects)
    ticker = asyncio.create_task(tick(nc, subjects))
    try:
        async with (
            lease_bucket(nc, subjects),
            replicas("portfolio", 2, env, PARTITIONS) as (portfolio, doomed),
            replicas("execution", executions, env, PARTITIONS) as venues,
        ):
            await open_accounts(trader, names)
            await until(lambda: all_listed(trader, names), seconds=10)
            await until(lambda: _split(portfolio, doomed), seconds=10)
            owned = partitions_held(portfolio), partitions_held(doomed)
            load = Load()
            placing = asyncio.create_task(place_orders(trader, names, orders, load))
            await until(lambda: _at_least(load, orders // 3), seconds=60)
            lost = partitions_held(doomed)
            killed_at = await kill(doomed)
            if executions > 1:
                await kill(venues[-1])
            answered_s = await takeover_seconds(trader, names, lost, PARTITIONS, killed_at)
            served_s = served_again_s([portfolio], lost, killed_at)
            filled_s = await fills_resume_s(trader, fresh_database, names, PARTITIONS, killed_at)
            await placing
            survivor = partitions_held(portfolio)
            assert await all_listed(trader, names), "the survivor lists every account"
            result = await outcome(fresh_database, nc, subjects, load)
            logs = _logs({"portfolio": portfolio, "portfolio (killed)": doomed}, venues)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await nc.close()
    killed = "one replica of each" if executions > 1 else "one portfolio replica"
    print(
        f"replicas (portfolio 2, execution {executions}): portfolio partitions "
        f"{sorted(owned[0])} + {sorted(owned[1])}; {len(load.acknowledged)} orders over "
        f"{len(names)} accounts in {load.ended - load.started:.1f}s ({load.retries} retries); "
        f"{killed} killed: portfolio served its partitions {sorted(lost)} again after "
        f"{served_s:.2f}s (clients answered after {answered_s:.2f}s), an order on every "
        f"partition filled {filled_s:.2f}s after the kill; {time.monotonic() - began:.1f}s in all"
    )
    assert owned[0], f"the first replica serves partitions\n{logs}"
    assert owned[1], f"the second replica serves partitions\n{logs}"
    assert not owned[0] & owned[1], f"no partition has two owners: {owned}"
    assert owned[0] | owned[1] == set(range(PARTITIONS))
    assert survivor == set(range(PARTITIONS)), f"the survivor took every partition\n{logs}"
    assert len(load.acknowledged) == orders
    assert problems(load, result) == [], logs
    assert served_s < 5, f"portfolio's takeover took {served_s:.1f}s"
    assert filled_s < 30, f"fills resumed only {filled_s:.1f}s after the kill"


async def _at_least(load: Load, count: int) -> bool:
    return len(load.acknowledged) >= count


async def _split(first: ServiceProcess, second: ServiceProcess) -> bool:
    """Whether both replicas serve partitions (the second joined and was handed its share)."""
    return bool(partitions_held(first)) and bool(partitions_held(second))


def _logs(portfolios: dict[str, ServiceProcess], venues: list[ServiceProcess]) -> str:
    named = {**portfolios, **{f"execution-{n}": v for n, v in enumerate(venues, 1)}}
    return "\n".join(f"{name}:\n{process.output()}" for name, process in named.items())
