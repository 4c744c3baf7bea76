"""What only PostgreSQL can prove: migrations, gap-free positions under load, append-only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from papertape.common.eventlog import NewEvent, RecordedEvent, verify_log
from papertape.common.eventlog.migrations import apply_migrations, available_migrations
from papertape.common.eventlog.postgres import PostgresEventLog, append_on

MakeEvents = Callable[..., list[NewEvent]]

pytestmark = pytest.mark.integration

WRITERS = 8
APPENDS_PER_WRITER = 40


async def test_migrations_apply_once_even_when_run_concurrently(fresh_database: str) -> None:
    results = await asyncio.gather(*(apply_migrations(fresh_database) for _ in range(4)))

    names = [name for name, _ in available_migrations()]
    assert sorted(results, key=len, reverse=True) == [names, [], [], []]
    assert await apply_migrations(fresh_database) == []


async def test_migrations_in_several_databases_at_once_share_the_service_role(
    postgres_server_url: str, fresh_database: str, migrated_database: str
) -> None:
    await apply_migrations(fresh_database)  # the fixture migrated another database already

    conn = await asyncpg.connect(postgres_server_url)
    try:
        roles = await conn.fetchval(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'papertape_service'"
        )
    finally:
        await conn.close()
    assert roles == 1


async def test_a_follower_sees_every_committed_event_once_in_order_under_concurrent_writers(
    migrated_database: str, make_events: MakeEvents
) -> None:
    total = WRITERS * APPENDS_PER_WRITER * 2
    seen: list[RecordedEvent] = []

    async def writer(index: int) -> None:
        conn = await asyncpg.connect(migrated_database)
        try:
            for version in range(0, APPENDS_PER_WRITER * 2, 2):
                await append_on(conn, f"account-{index}", version, make_events(2))
        finally:
            await conn.close()

    async def follower() -> None:
        conn = await asyncpg.connect(migrated_database)
        try:
            while len(seen) < total:
                rows = await conn.fetch(
                    "SELECT position, stream_id, stream_version FROM events"
                    " WHERE position > $1 ORDER BY position",
                    seen[-1].position if seen else 0,
                )
                seen.extend(
                    RecordedEvent(r[0], r[1], r[2], "", "", 0, "", "", None, b"", b"")  # type: ignore[arg-type]
                    for r in rows
                )
                await asyncio.sleep(0)
        finally:
            await conn.close()

    await asyncio.gather(follower(), *(writer(i) for i in range(WRITERS)))

    assert [e.position for e in seen] == list(range(1, total + 1))
    for index in range(WRITERS):
        versions = [e.stream_version for e in seen if e.stream_id == f"account-{index}"]
        assert versions == list(range(1, APPENDS_PER_WRITER * 2 + 1))


async def test_update_delete_and_truncate_of_the_log_are_refused(
    postgres_log: PostgresEventLog, make_events: MakeEvents
) -> None:
    await postgres_log.append("account-a", 0, make_events(1))

    async with postgres_log.pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("UPDATE events SET type = 'forged'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM events")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("TRUNCATE events")
    assert await postgres_log.head_position() == 1


async def test_the_service_role_can_append_and_read_but_never_rewrite(
    migrated_database: str, make_events: MakeEvents
) -> None:
    conn = await asyncpg.connect(migrated_database)
    try:
        await conn.execute("SET ROLE papertape_service")
        assert await append_on(conn, "account-a", 0, make_events(2)) == [1, 2]
        assert await conn.fetchval("SELECT count(*) FROM events") == 2
        refused = [
            "UPDATE events SET type = 'forged'",
            "DELETE FROM events",
            "TRUNCATE events",
            "ALTER TABLE events DISABLE TRIGGER events_append_only",
            "SET session_replication_role = replica",
            "DROP TABLE events",
        ]
        for statement in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "disable",
    [
        "ALTER TABLE events DISABLE TRIGGER events_append_only",
        "SET session_replication_role = replica",
    ],
)
async def test_a_row_tampered_by_a_superuser_fails_verify_at_its_position(
    postgres_log: PostgresEventLog, make_events: MakeEvents, disable: str
) -> None:
    await postgres_log.append("account-a", 0, make_events(3))
    await postgres_log.append("account-b", 0, make_events(3))

    async with postgres_log.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(disable)
            await conn.execute(
                "UPDATE events SET data = jsonb_set(data, '{n}', '99') WHERE position = 5"
            )
        await conn.execute("RESET session_replication_role")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    verification = await verify_log(postgres_log)

    assert not verification.ok
    assert verification.first_bad_position == 5
    assert verification.reason is not None
    assert "hash" in verification.reason


async def test_a_deleted_row_fails_verify_at_the_gap(
    postgres_log: PostgresEventLog, make_events: MakeEvents
) -> None:
    await postgres_log.append("account-a", 0, make_events(4))

    async with postgres_log.pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute("DELETE FROM events WHERE position = 2")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    verification = await verify_log(postgres_log)

    assert verification.first_bad_position == 2


async def test_every_append_notifies_followers_with_the_new_head(
    postgres_log: PostgresEventLog, migrated_database: str, make_events: MakeEvents
) -> None:
    heads: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_database)
    try:
        await listener.add_listener("papertape_eventlog", lambda *args: heads.put_nowait(args[3]))
        await postgres_log.append("account-a", 0, make_events(3))

        assert await asyncio.wait_for(heads.get(), 30) == "3"
    finally:
        await listener.close()
