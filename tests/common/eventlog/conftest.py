"""Fixtures of the event log's tests: each implementation, a migrated database, new events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import msgspec
import pytest
import pytest_asyncio

from papertape.common.eventlog import InMemoryEventLog, NewEvent
from papertape.common.eventlog.migrations import apply_migrations
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.servers import database_url

AnyLog = InMemoryEventLog | PostgresEventLog
MakeEvents = Callable[..., list[NewEvent]]


def make_new_events(
    count: int, *, kind: str = "funds_deposited", **fields: object
) -> list[NewEvent]:
    """``count`` new events with fresh ids and small JSON bodies."""
    return [
        NewEvent(
            event_id=str(uuid.uuid4()),
            type=kind,
            schema_version=1,
            data=msgspec.json.encode({"type": f"{kind}.v1", "n": n, **fields}),
            metadata=msgspec.json.encode(
                {"occurred_at": "2024-03-01T12:00:00Z", "correlation_id": "c-1", "actor": "test"}
            ),
        )
        for n in range(count)
    ]


@pytest.fixture
def make_events() -> MakeEvents:
    return make_new_events


@pytest_asyncio.fixture
async def migrated_database(fresh_database: str) -> AsyncIterator[str]:
    """A fresh database with the event log's migrations applied."""
    await apply_migrations(fresh_database)
    yield fresh_database


@pytest_asyncio.fixture
async def postgres_log(migrated_database: str) -> AsyncIterator[PostgresEventLog]:
    log = await PostgresEventLog.connect(migrated_database, migrate=False)
    yield log
    await log.close()


@pytest_asyncio.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
async def event_log(request: pytest.FixtureRequest) -> AsyncIterator[AnyLog]:
    """Every implementation of the port, so a fake cannot drift from the real thing."""
    if request.param == "memory":
        yield InMemoryEventLog()
        return
    server: str = request.getfixturevalue("postgres_server_url")
    name = f"pt_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = database_url(server, name)
    log = await PostgresEventLog.connect(dsn)
    try:
        yield log
    finally:
        await log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
