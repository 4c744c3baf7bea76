"""Run every benchmark against one PostgreSQL and write bench/results/latest.json."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from bench import eventlog_bench, eventsourcing_bench
from bench.records import Measurement, records, table

RESULTS = Path(__file__).parent / "results" / "latest.json"


def server_url(stack: ExitStack) -> str:
    """DATABASE_URL, else the embedded server papertape.common.servers starts."""
    try:
        from papertape.common.servers import resolve_postgres
    except ImportError:
        return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return resolve_postgres(stack, durable=True).url


async def measure(url: str) -> list[Measurement]:
    measurements = await eventlog_bench.run(url)
    measurements += await eventsourcing_bench.run(url)
    return measurements


def main() -> int:
    with ExitStack() as stack:
        measurements = asyncio.run(measure(server_url(stack)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(records(measurements), indent=2) + "\n")
    print(table(measurements, eventlog_bench.TARGETS))
    print(f"\nrecords written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
