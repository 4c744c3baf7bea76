"""A log that spans both hash formulas: rows appended before migration 0003 keep formula 1 and
still verify; rows after it are hashed with their recorded time (formula 2)."""

from __future__ import annotations

import asyncpg
import pytest

from papertape.common.eventlog import verify_log
from papertape.common.eventlog.migrations import apply_migrations, available_migrations
from papertape.common.eventlog.postgres import PostgresEventLog, append_on
from tests.common.eventlog.conftest import MakeEvents

pytestmark = pytest.mark.integration

FORMULA_2 = "0003_log_defence"


async def _log_across_the_migration(database: str, make_events: MakeEvents) -> None:
    """Positions 1-3 appended by the migrations before 0003, positions 4-5 after it."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        for name, script in available_migrations():
            if name == FORMULA_2:
                break
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
        await append_on(conn, "account-a", 0, make_events(2))
        await append_on(conn, "account-b", 0, make_events(1))
    finally:
        await conn.close()
    assert (await apply_migrations(database))[0] == FORMULA_2
    conn = await asyncpg.connect(database)
    try:
        await append_on(conn, "account-a", 2, make_events(2))
    finally:
        await conn.close()


async def test_a_log_spanning_both_formulas_verifies_and_records_where_formula_2_starts(
    fresh_database: str, make_events: MakeEvents
) -> None:
    await _log_across_the_migration(fresh_database, make_events)

    log = await PostgresEventLog.connect(fresh_database, migrate=False)
    try:
        result = await verify_log(log)
        assert await log.hash_formula_from() == 4
    finally:
        await log.close()
    assert result.ok, result
    assert result.checked == 5


@pytest.mark.parametrize(("position", "caught"), [(2, False), (4, True)])
async def test_a_changed_recorded_time_breaks_the_chain_from_formula_2_on(
    fresh_database: str, make_events: MakeEvents, position: int, caught: bool
) -> None:
    await _log_across_the_migration(fresh_database, make_events)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        # a microsecond later: still in order, so only the hash can tell
        await conn.execute(
            "UPDATE events SET recorded_at = recorded_at + interval '1 microsecond'"
            " WHERE position = $1",
            position,
        )
    finally:
        await conn.close()

    log = await PostgresEventLog.connect(fresh_database, migrate=False)
    try:
        result = await verify_log(log)
    finally:
        await log.close()
    assert result.ok is not caught
    if caught:
        assert result.first_bad_position == position
        assert result.reason == "hash does not match the event's contents"
