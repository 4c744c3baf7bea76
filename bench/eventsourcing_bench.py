"""The same appends and rebuild with the ``eventsourcing`` library's PostgreSQL recorder.

``PostgresApplicationRecorder`` is the recorder that, like papertape's log, gives every
event a global position a follower can read (it locks its table to keep them gap-free).
The library is synchronous (psycopg 3): its concurrent writers are threads.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.eventlog_bench import (
    BATCH,
    BATCHES,
    PER_WRITER,
    REBUILD,
    SEQUENTIAL,
    WRITERS,
    codec,
    make_events,
    scratch_database,
)
from bench.records import Measurement

TOPIC = "bench:CashDeposited"


def stored(originator: uuid.UUID, first_version: int, count: int) -> list[Any]:
    """``count`` stored events of one aggregate, with the same JSON body as papertape's."""
    return [
        StoredEvent(
            originator_id=originator,
            originator_version=first_version + n,
            topic=TOPIC,
            state=event.data,
        )
        for n, event in enumerate(make_events(count))
    ]


@contextmanager
def recorder(dsn: str, pool_size: int) -> Iterator[Any]:
    """An application recorder on ``dsn``, its table created."""
    url = urlsplit(dsn)
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        pool_size=pool_size,
    )
    try:
        app_recorder = PostgresApplicationRecorder(datastore, events_table_name="stored_events")
        app_recorder.create_table()
        yield app_recorder
    finally:
        datastore.close()


def timed(work: Callable[[], object]) -> float:
    """Seconds ``work`` took."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def sequential(dsn: str) -> list[Measurement]:
    with recorder(dsn, 1) as rec:
        events = stored(uuid.uuid4(), 1, SEQUENTIAL)
        seconds = timed(lambda: [rec.insert_events([event]) for event in events])
    return [Measurement("eventsourcing.sequential_appends", SEQUENTIAL / seconds, "events/s")]


def concurrent(dsn: str) -> list[Measurement]:
    with recorder(dsn, WRITERS) as rec:
        streams = [stored(uuid.uuid4(), 1, PER_WRITER) for _ in range(WRITERS)]

        def writer(events: list[Any]) -> None:
            for event in events:
                rec.insert_events([event])

        def all_writers() -> None:
            with ThreadPoolExecutor(WRITERS) as pool:
                list(pool.map(writer, streams))

        seconds = timed(all_writers)
    rate = WRITERS * PER_WRITER / seconds
    return [Measurement("eventsourcing.concurrent_appends_16_writers", rate, "events/s")]


def batched(dsn: str) -> list[Measurement]:
    with recorder(dsn, 1) as rec:
        originator = uuid.uuid4()
        batches = [stored(originator, 1 + n * BATCH, BATCH) for n in range(BATCHES)]
        seconds = timed(lambda: [rec.insert_events(batch) for batch in batches])
    rate = BATCHES * BATCH / seconds
    return [Measurement("eventsourcing.batched_appends_1000", rate, "events/s")]


def rebuild(dsn: str) -> list[Measurement]:
    with recorder(dsn, 1) as rec:
        originator = uuid.uuid4()
        for start in range(0, REBUILD, 10_000):
            rec.insert_events(stored(originator, 1 + start, min(10_000, REBUILD - start)))
        with rec.datastore.get_connection() as conn:  # the same log-at-rest state as papertape's
            conn.execute("VACUUM ANALYZE stored_events")
        count, total = 0, Decimal(0)
        started = time.perf_counter()
        version = 0
        while True:
            page = rec.select_events(originator, gt=version, limit=10_000)
            if not page:
                break
            for event in page:
                total += codec.decode(event.state).amount  # the same trivial evolve
            count += len(page)
            version = page[-1].originator_version
        rate = count / (time.perf_counter() - started)
    return [Measurement("eventsourcing.rebuild_one_stream", rate, "events/s")]


async def run(server_url: str) -> list[Measurement]:
    """Every eventsourcing measurement, each in a fresh database."""
    measurements: list[Measurement] = []
    for bench in (sequential, concurrent, batched, rebuild):
        async with scratch_database(server_url) as dsn:
            measurements += await asyncio.to_thread(bench, dsn)
    return measurements
