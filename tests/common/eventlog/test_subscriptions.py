"""Subscriptions: checkpointed, woken by NOTIFY, effects and checkpoint in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from papertape.common.eventlog import NewEvent, RecordedEvent
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.eventlog.subscriptions import Delivery, Subscription, SubscriptionRunner

MakeEvents = Callable[..., list[NewEvent]]

pytestmark = pytest.mark.integration


class Boom(Exception):
    """A handler that fails on purpose."""


async def projected(conn: Any) -> list[int]:
    rows = await conn.fetch("SELECT position FROM projection ORDER BY position")
    return [row[0] for row in rows]


async def project(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO projection (position) VALUES ($1)", [(e.position,) for e in batch]
    )


@pytest.fixture
async def projection_table(migrated_database: str) -> str:
    conn = await asyncpg.connect(migrated_database)
    try:
        await conn.execute("CREATE TABLE projection (position bigint PRIMARY KEY)")
    finally:
        await conn.close()
    return migrated_database


async def test_catch_up_handles_everything_and_a_restart_resumes_from_the_checkpoint(
    postgres_log: PostgresEventLog, projection_table: str, make_events: MakeEvents
) -> None:
    subscription = Subscription("projector", project, batch_size=4)
    await postgres_log.append("account-a", 0, make_events(6))
    assert await SubscriptionRunner(projection_table, subscription).catch_up() == 6

    await postgres_log.append("account-a", 6, make_events(3))
    assert await SubscriptionRunner(projection_table, subscription).catch_up() == 3

    async with postgres_log.pool.acquire() as conn:
        assert await projected(conn) == list(range(1, 10))
    assert await postgres_log.load_checkpoint("projector") == 9


async def test_a_failing_handler_rolls_back_its_effects_and_the_checkpoint(
    postgres_log: PostgresEventLog, projection_table: str, make_events: MakeEvents
) -> None:
    async def project_then_fail(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
        await project(batch, conn)
        raise Boom

    await postgres_log.append("account-a", 0, make_events(3))
    with pytest.raises(Boom):
        await SubscriptionRunner(projection_table, Subscription("p", project_then_fail)).catch_up()

    async with postgres_log.pool.acquire() as conn:
        assert await projected(conn) == []
    assert await postgres_log.load_checkpoint("p") == 0


async def test_after_effect_delivery_redelivers_a_batch_whose_handler_failed(
    postgres_log: PostgresEventLog, migrated_database: str, make_events: MakeEvents
) -> None:
    published: list[int] = []

    async def publish_then_fail(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
        published.extend(e.position for e in batch)
        raise Boom

    async def publish(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
        published.extend(e.position for e in batch)

    await postgres_log.append("account-a", 0, make_events(2))
    failing = Subscription("relay", publish_then_fail, delivery=Delivery.AFTER_EFFECT)
    with pytest.raises(Boom):
        await SubscriptionRunner(migrated_database, failing).catch_up()
    working = Subscription("relay", publish, delivery=Delivery.AFTER_EFFECT)
    await SubscriptionRunner(migrated_database, working).catch_up()

    assert published == [1, 2, 1, 2]
    assert await postgres_log.load_checkpoint("relay") == 2


async def test_a_running_subscription_is_woken_by_an_append(
    postgres_log: PostgresEventLog, migrated_database: str, make_events: MakeEvents
) -> None:
    received: asyncio.Queue[int] = asyncio.Queue()

    async def collect(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
        for event in batch:
            received.put_nowait(event.position)

    # An hour between polls: only the notification can deliver in time.
    runner = SubscriptionRunner(
        migrated_database, Subscription("live", collect, poll_interval=3600)
    )
    task = asyncio.create_task(runner.run())
    try:
        await postgres_log.append("account-a", 0, make_events(1))
        assert await asyncio.wait_for(received.get(), 30) == 1
        await postgres_log.append("account-a", 1, make_events(1))
        assert await asyncio.wait_for(received.get(), 30) == 2
    finally:
        runner.stop()
        await task
