"""Two replicas of portfolio split the accounts' partitions; one SIGKILLed mid-run hands its
partitions to the other within seconds, and nothing is lost or decided twice.

Portfolio runs as two processes of four partitions (one execution process fills the orders);
orders go to many accounts through the public subjects, whichever replica receives them. See
tests/e2e/replicas.py for the scenario and the checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import nats
import pytest

from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import running, service_env
from tests.e2e.replicas import (
    Load,
    Trader,
    accounts,
    all_listed,
    kill,
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
ACCOUNTS = accounts(24)
ORDERS = 400


@pytest.mark.timeout(120)
async def test_two_replicas_split_the_accounts_and_one_killed_loses_nothing(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    began = time.monotonic()
    env = service_env(nats_url, fresh_database, subjects.namespace)
    nc = await nats.connect(nats_url)
    trader = Trader(nc, subjects)
    ticker = asyncio.create_task(tick(nc, subjects))
    try:
        async with (
            replicas("portfolio", 2, env, PARTITIONS) as (first, second),
            running("execution", env),
        ):
            await open_accounts(trader, ACCOUNTS)
            await until(lambda: all_listed(trader, ACCOUNTS), seconds=10)
            owned = partitions_held(first), partitions_held(second)
            load = Load()
            orders = asyncio.create_task(place_orders(trader, ACCOUNTS, ORDERS, load))
            await until(lambda: _at_least(load, ORDERS // 3), seconds=60)
            lost = partitions_held(second)
            killed_at = await kill(second)
            answered_s = await takeover_seconds(trader, ACCOUNTS, lost, PARTITIONS, killed_at)
            took_over_s = served_again_s([first], lost, killed_at)
            await orders
            survivor = partitions_held(first)
            assert await all_listed(trader, ACCOUNTS), "the survivor lists every account"
            result = await outcome(fresh_database, nc, subjects, load)
            logs = f"first:\n{first.output()}\nsecond:\n{second.output()}"
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await nc.close()
    print(
        f"portfolio replicas: partitions {sorted(owned[0])} + {sorted(owned[1])}; "
        f"{len(load.acknowledged)} orders in {load.ended - load.started:.1f}s "
        f"({load.retries} retries); the kill of the second replica (partitions {sorted(lost)}) "
        f"served again {took_over_s:.2f}s after the kill, answering clients after "
        f"{answered_s:.2f}s; {time.monotonic() - began:.1f}s in all"
    )
    assert owned[0], f"the first replica serves partitions\n{logs}"
    assert owned[1], f"the second replica serves partitions\n{logs}"
    assert not owned[0] & owned[1], f"no partition has two owners: {owned}"
    assert owned[0] | owned[1] == set(range(PARTITIONS))
    assert survivor == set(range(PARTITIONS)), f"the survivor took every partition\n{logs}"
    assert took_over_s < 10, f"takeover took {took_over_s:.1f}s"
    assert len(load.acknowledged) == ORDERS
    assert problems(load, result) == [], logs


async def _at_least(load: Load, count: int) -> bool:
    return len(load.acknowledged) >= count
