"""The event log against its baselines, in one run on one PostgreSQL server.

Each measurement runs in a database of its own: sequential single-event appends against a
plain INSERT loop, 16 concurrent writers, batches of 1,000 against COPY into a table of the
same shape, and a rebuild of one stream of 1,000,000 events (read, decode, trivial evolve).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from bench.records import Measurement, Target
from papertape.common.eventlog import NewEvent, decode_envelope, new_event
from papertape.common.eventlog.hashchain import GENESIS_HASH
from papertape.common.eventlog.migrations import apply_migrations
from papertape.common.eventlog.postgres import PostgresEventLog, append_on
from papertape.common.servers import create_database, drop_database
from papertape.contract.codec import Codec
from papertape.contract.events.base import Event
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import Actor, CorrelationId, EventId, StreamId

SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "1000"))
WRITERS = 16
PER_WRITER = int(os.environ.get("BENCH_PER_WRITER", "100"))
BATCH = 1000
BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
REBUILD = int(os.environ.get("BENCH_REBUILD_EVENTS", "1000000"))

TARGETS = [
    Target("eventlog.sequential_appends", 0.5, "plain_insert.sequential_inserts"),
    Target("eventlog.sequential_appends", 2.0, "eventsourcing.sequential_appends"),
    Target(
        "eventlog.concurrent_appends_16_writers", 5.0, "eventsourcing.concurrent_appends_16_writers"
    ),
    Target("eventlog.batched_appends_1000", 5.0, "eventsourcing.batched_appends_1000"),
    Target("eventlog.batched_appends_1000", 0.5, "copy.batched_1000"),
    Target("eventlog.rebuild_one_stream", 300_000.0),
    Target("eventlog.rebuild_one_stream", 10.0, "eventsourcing.rebuild_one_stream"),
]


class CashDeposited(Event, frozen=True, kw_only=True):
    """The benchmark's event: a small body with a decimal, like most account events."""

    account_id: str
    amount: Decimal
    reference: str


codec: Codec[CashDeposited] = Codec(CashDeposited)
event_arrays: Codec[list[CashDeposited]] = Codec(list[CashDeposited])


def make_events(count: int) -> list[NewEvent]:
    """``count`` encoded envelopes with fresh ids (encoding is not part of any timing)."""
    now = datetime.now(UTC)
    deposit = CashDeposited(account_id="account-bench", amount=Decimal("100.25"), reference="r")
    return [
        new_event(
            Envelope(
                event_id=EventId(str(uuid.uuid4())),
                stream_id=StreamId("account-bench"),
                stream_version=0,
                occurred_at=now,
                correlation_id=CorrelationId(str(uuid.uuid4())),
                actor=Actor("bench"),
                data=deposit,
            )
        )
        for _ in range(count)
    ]


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A migrated database of its own, with a plain table of the log's shape; dropped after."""
    name = f"pt_bench_{uuid.uuid4().hex[:12]}"
    dsn = await create_database(server_url, name)
    try:
        await apply_migrations(dsn)
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE plain_events (LIKE events INCLUDING ALL)")
        await conn.close()
        yield dsn
    finally:
        await drop_database(server_url, name)


def plain_rows(events: list[NewEvent], first: int) -> list[tuple[Any, ...]]:
    """The rows a plain insert writes: the same columns, no check, no chain."""
    now = datetime.now(UTC)
    return [
        (
            first + n,
            "account-bench",
            first + n,
            uuid.UUID(e.event_id),
            e.type,
            e.schema_version,
            e.data.decode(),
            e.metadata.decode(),
            now,
            GENESIS_HASH,
            GENESIS_HASH,
        )
        for n, e in enumerate(events)
    ]


async def sequential(dsn: str) -> list[Measurement]:
    """Single-event appends one after another, against a single-row INSERT loop."""
    events = make_events(SEQUENTIAL)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for version, event in enumerate(events):
            await append_on(conn, "account-bench", version, [event])
        ours = SEQUENTIAL / (time.perf_counter() - started)
        rows = plain_rows(make_events(SEQUENTIAL), 1)
        insert = await conn.prepare(
            "INSERT INTO plain_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        started = time.perf_counter()
        for row in rows:
            await insert.fetch(*row)
        plain = SEQUENTIAL / (time.perf_counter() - started)
    finally:
        await conn.close()
    return [
        Measurement(
            "eventlog.sequential_appends",
            ours,
            "events/s",
            baseline="plain_insert.sequential_inserts",
        ),
        Measurement("plain_insert.sequential_inserts", plain, "events/s"),
    ]


async def concurrent(dsn: str) -> list[Measurement]:
    """Single-event appends from 16 writers at once, each on a stream of its own.

    The writers use the event log's ``append`` (as the portfolio's accounts do), which lets
    concurrent appends share a transaction (group commit). The same writers on a connection
    each, one transaction per append, are measured too.
    """
    log = await PostgresEventLog.connect(dsn, migrate=False, max_size=WRITERS)
    connections = [await asyncpg.connect(dsn) for _ in range(WRITERS)]
    grouped = [make_events(PER_WRITER) for _ in range(WRITERS)]
    alone = [make_events(PER_WRITER) for _ in range(WRITERS)]

    async def writer(index: int) -> None:
        for version, event in enumerate(grouped[index]):
            await log.append(f"account-{index}", version, [event])

    async def writer_alone(index: int) -> None:
        for version, event in enumerate(alone[index]):
            await append_on(connections[index], f"solo-{index}", version, [event])

    try:
        started = time.perf_counter()
        await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        rate = WRITERS * PER_WRITER / (time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(writer_alone(i) for i in range(WRITERS)))
        rate_alone = WRITERS * PER_WRITER / (time.perf_counter() - started)
    finally:
        for conn in connections:
            await conn.close()
        await log.close()
    return [
        Measurement(
            "eventlog.concurrent_appends_16_writers",
            rate,
            "events/s",
            baseline="eventsourcing.concurrent_appends_16_writers",
        ),
        Measurement(
            "eventlog.concurrent_appends_16_connections_one_transaction_each",
            rate_alone,
            "events/s",
            baseline="eventsourcing.concurrent_appends_16_writers",
        ),
    ]


async def batched(dsn: str) -> list[Measurement]:
    """Appends of 1,000 events at a time, against COPY of 1,000 rows into the plain table."""
    batches = [make_events(BATCH) for _ in range(BATCHES)]
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for n, batch in enumerate(batches):
            await append_on(conn, "account-bench", n * BATCH, batch)
        ours = BATCHES * BATCH / (time.perf_counter() - started)
        rows = [plain_rows(make_events(BATCH), 1 + n * BATCH) for n in range(BATCHES)]
        started = time.perf_counter()
        for chunk in rows:
            await conn.copy_records_to_table("plain_events", records=chunk)
        copy = BATCHES * BATCH / (time.perf_counter() - started)
    finally:
        await conn.close()
    return [
        Measurement(
            "eventlog.batched_appends_1000", ours, "events/s", baseline="copy.batched_1000"
        ),
        Measurement("copy.batched_1000", copy, "events/s"),
    ]


async def rebuild(dsn: str) -> list[Measurement]:
    """Read and decode one stream of REBUILD events, folding a trivial evolve."""
    log = await PostgresEventLog.connect(dsn, migrate=False, max_size=2)
    try:
        load = time.perf_counter()
        for start in range(0, REBUILD, 10_000):
            await log.append("account-big", start, make_events(min(10_000, REBUILD - start)))
        load = time.perf_counter() - load
        # Rebuilds read a log at rest: hint bits set and statistics known, as after autovacuum.
        await log.pool.execute("VACUUM ANALYZE events")
        started = time.perf_counter()
        count, total = 0, Decimal(0)
        # The rebuild path services use: the server joins a range of a stream's data into one
        # JSON array, decoded (and validated into typed events) with one msgspec call.
        async for _last, blob in log.read_stream_data("account-big"):
            for event in event_arrays.decode(blob):
                total += event.amount  # the trivial evolve
                count += 1
        rate = count / (time.perf_counter() - started)
        started = time.perf_counter()
        rows = 0
        async for batch in log.read_stream("account-big"):
            for recorded in batch:
                envelope = decode_envelope(recorded, codec)
                total += envelope.data.amount
            rows += len(batch)
        row_rate = rows / (time.perf_counter() - started)
    finally:
        await log.close()
    assert count == REBUILD, (count, REBUILD)
    return [
        Measurement(
            "eventlog.rebuild_one_stream",
            rate,
            "events/s",
            baseline="eventsourcing.rebuild_one_stream",
        ),
        Measurement(
            "eventlog.rebuild_one_stream_row_by_row_envelopes",
            row_rate,
            "events/s",
            baseline="eventsourcing.rebuild_one_stream",
        ),
        Measurement("eventlog.bulk_load_batches_of_10000", REBUILD / load, "events/s"),
    ]


async def run(server_url: str) -> list[Measurement]:
    """Every event log measurement, each in a fresh database."""
    measurements: list[Measurement] = []
    for bench in (sequential, concurrent, batched, rebuild):
        async with scratch_database(server_url) as dsn:
            measurements += await bench(dsn)
    return measurements
