"""Benchmark: orders/s and consumer lag with one and with two replicas of portfolio and execution.

The scenario of tests/e2e/replicas.py without the kill: ``REPLICAS`` processes of portfolio and
of execution (``PAPERTAPE_PARTITIONS`` = ``PARTITIONS`` when more than one), a BTCUSD quote
every 50 ms, ``ORDERS`` market orders over ``ACCOUNTS`` accounts from ``CONCURRENCY`` clients
at once, each waiting for its answer. Measured: orders/s decided (answered), the seconds from
the last answer until every order is filled in the log (the drain), and the largest consumer
lag seen during the load: the most messages any one durable consumer of ACCOUNTS or EXECUTION
had not yet acknowledged (pending plus in flight), sampled every 200 ms. One replica and two
run back to back on the same machine, each on a database and namespace of its own; both must
lose and double nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import nats
from nats.js import JetStreamContext
from tests.e2e import replicas as scenario

from bench.eventlog_bench import scratch_database
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.subjects import Subjects

ORDERS = 2_000
ACCOUNTS = 50
PARTITIONS = 4
COUNTS = (1, 2)


async def _lag(js: JetStreamContext, subjects: Subjects) -> int:
    """The most unacknowledged messages of any one durable consumer of ACCOUNTS or EXECUTION."""
    worst = 0
    for stream in (subjects.stream("ACCOUNTS"), subjects.stream("EXECUTION")):
        for info in await js.consumers_info(stream):
            if not info.config.durable_name:
                continue  # a reader's ephemeral consumer (the checks' own), not a service's
            worst = max(worst, (info.num_pending or 0) + (info.num_ack_pending or 0))
    return worst


async def _sample(js: JetStreamContext, subjects: Subjects, worst: list[int]) -> None:
    while True:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            worst.append(await _lag(js, subjects))
        await asyncio.sleep(0.2)


async def one_run(
    server_url: str, nats_url: str, count: int, execution: int | None = None
) -> dict[str, float]:
    """Orders/s, drain seconds and the largest lag with ``count`` replicas of portfolio and
    ``execution`` (default: as many) of execution."""
    subjects = Subjects(namespace=f"rb{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await declare_streams(nc, subjects.streams())
    names = scenario.accounts(ACCOUNTS)
    try:
        async with scratch_database(server_url) as dsn:
            env = {
                "NATS_URL": nats_url,
                "DATABASE_URL": dsn,
                "PAPERTAPE_NAMESPACE": subjects.namespace,
                "PAPERTAPE_METRICS_PORT": "-1",
                "PAPERTAPE_LOG_LEVEL": "INFO",
            }
            trader = scenario.Trader(nc, subjects)
            ticker = asyncio.create_task(scenario.tick(nc, subjects))
            worst: list[int] = [0]
            try:
                async with (
                    scenario.lease_bucket(nc, subjects),
                    scenario.replicas("portfolio", count, env, PARTITIONS),
                    scenario.replicas("execution", execution or count, env, PARTITIONS),
                ):
                    await scenario.open_accounts(trader, names)
                    load = scenario.Load()
                    sampler = asyncio.create_task(_sample(js, subjects, worst))
                    await scenario.place_orders(trader, names, ORDERS, load)
                    await scenario.filled(dsn, load)
                    drained = time.monotonic() - load.ended
                    sampler.cancel()
                    result = await scenario.outcome(dsn, nc, subjects, load)
            finally:
                ticker.cancel()
    finally:
        await delete_streams(nc, subjects.streams())
        await nc.close()
    problems = scenario.problems(load, result)
    if problems:
        raise RuntimeError(f"{count} replicas broke an invariant: {problems}")
    return {
        "orders_per_s": len(load.acknowledged) / (load.ended - load.started),
        "drain_s": drained,
        "max_consumer_lag": float(max(worst)),
    }


def _record(name: str, value: float, unit: str, higher: bool, baseline: str | None = None) -> Any:
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "higher_is_better": higher,
        "baseline": {"name": baseline} if baseline else None,
    }


async def run(server_url: str, nats_url: str) -> list[dict[str, Any]]:
    """The records: each figure with one replica and with two, side by side."""
    found = {count: await one_run(server_url, nats_url, count) for count in COUNTS}
    for count, figures in found.items():
        print(f"replicas={count}: {figures}")
    records = []
    for key, unit, higher in (
        ("orders_per_s", "orders/s", True),
        ("max_consumer_lag", "messages", False),
        ("drain_s", "s", False),
    ):
        one = f"replicas.{key}_1_replica"
        records.append(_record(one, found[1][key], unit, higher))
        records.append(_record(f"replicas.{key}_2_replicas", found[2][key], unit, higher, one))
    return records
