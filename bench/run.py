"""Run every benchmark against one PostgreSQL and write bench/results/latest.json.

``python -m bench.run signal backtest`` runs only the named modules (of ``ALONE``) and prints
their measurements and targets, leaving latest.json as it is (an A/B of one hot path need not
wait for the whole suite, nor overwrite its record).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import (
    account_bench,
    backtest_bench,
    e2e_bench,
    eventlog_bench,
    eventsourcing_bench,
    execution_bench,
    gateway_bench,
    marketdata_bench,
    notification_bench,
    replicas_bench,
    signal_bench,
    soak_bench,
)
from bench.records import Measurement, Target, records, table

RESULTS = Path(__file__).parent / "results" / "latest.json"


TARGETS = [
    *eventlog_bench.TARGETS,
    Target("execution.match_quotes_per_s_10k_orders_100_symbols", 50_000.0),
    Target("execution.service_handler_quotes_per_s_10k_orders_100_symbols", 50_000.0),
    Target("signal.service_handler_bars_per_s_4_strategies_500_symbols", 20_000.0),
    Target("marketdata_publish_quotes_acked", 20_000.0),
    Target("marketdata_publish_quotes_acked", 1.0, "nats_py_jetstream_publish_async"),
    Target("soak.kills_survived", 3.0 * soak_bench.ROUNDS),
    *gateway_bench.TARGETS,
    *e2e_bench.TARGETS,
    *notification_bench.TARGETS,
    *(Target(name, factor, baseline) for name, factor, baseline in backtest_bench.TARGETS_SPEC),
]


def from_records(found: list[dict[str, Any]]) -> list[Measurement]:
    """Measurements from the dict records a bench module returns."""
    return [
        Measurement(
            name=r["name"],
            value=float(r["value"]),
            unit=r["unit"],
            higher_is_better=r["higher_is_better"],
            baseline=r["baseline"]["name"] if r["baseline"] else None,
        )
        for r in found
    ]


def nats_url(stack: ExitStack) -> str:
    """NATS_URL, else the embedded server."""
    from papertape.common.servers import resolve_nats

    return resolve_nats(stack).url


def server_url(stack: ExitStack) -> str:
    """DATABASE_URL, else the embedded server papertape.common.servers starts."""
    try:
        from papertape.common.servers import resolve_postgres
    except ImportError:
        return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return resolve_postgres(stack, durable=True).url


async def measure(url: str, nats: str) -> list[Measurement]:
    # The single-process engines first, on a machine no earlier bench has left busy (after the
    # soak, PostgreSQL's own work slowed the backtest's second engine and not its first).
    measurements = from_records(await backtest_bench.run())
    async with eventlog_bench.scratch_database(url) as dsn:
        measurements += from_records(await signal_bench.run(dsn, nats))
    measurements += await eventlog_bench.run(url)
    measurements += await eventsourcing_bench.run(url)
    async with eventlog_bench.scratch_database(url) as dsn:
        measurements += await account_bench.run(dsn)
    measurements += from_records(await execution_bench.run())
    measurements += from_records(await marketdata_bench.run(nats))
    async with eventlog_bench.scratch_database(url) as dsn:
        measurements += from_records(await gateway_bench.run(dsn, nats))
    async with eventlog_bench.scratch_database(url) as dsn:
        measurements += from_records(await e2e_bench.run(dsn, nats))
    async with eventlog_bench.scratch_database(url) as dsn:
        measurements += from_records(await notification_bench.run(dsn, nats))
    measurements += from_records(await replicas_bench.run(url, nats))
    measurements += from_records(await soak_bench.run())  # last: the longest
    return measurements


async def _signal_alone(stack: ExitStack) -> list[Measurement]:
    async with eventlog_bench.scratch_database(server_url(stack)) as dsn:
        return from_records(await signal_bench.run(dsn, nats_url(stack)))


async def _backtest_alone(stack: ExitStack) -> list[Measurement]:
    return from_records(await backtest_bench.run())


ALONE: dict[str, Callable[[ExitStack], Awaitable[list[Measurement]]]] = {
    "signal": _signal_alone,
    "backtest": _backtest_alone,
}
"""The modules that run alone, by name."""


async def measure_alone(names: list[str], stack: ExitStack) -> list[Measurement]:
    """The named modules' measurements, in the order named."""
    measurements: list[Measurement] = []
    for name in names:
        measurements += await ALONE[name](stack)
    return measurements


def main() -> int:
    names = sys.argv[1:]
    unknown = [n for n in names if n not in ALONE]
    if unknown:
        print(f"no bench module {', '.join(unknown)} to run alone; one of: {', '.join(ALONE)}")
        return 2
    if names:
        with ExitStack() as stack:
            found = asyncio.run(measure_alone(names, stack))
        measured = {m.name for m in found}
        print(table(found, [t for t in TARGETS if t.name in measured]))
        return 0
    with ExitStack() as stack:
        measurements = asyncio.run(measure(server_url(stack), nats_url(stack)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(records(measurements), indent=2) + "\n")
    print(table(measurements, TARGETS))
    print(f"\nrecords written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
