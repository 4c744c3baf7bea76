"""The services' own database login: it appends through the append function and is refused
every other way to change history or to leave its role."""

from __future__ import annotations

import asyncpg
import pytest

from papertape.common.eventlog import verify_log
from papertape.common.eventlog.postgres import PostgresEventLog, append_on, save_checkpoint_on
from tests.common.eventlog.conftest import MakeEvents

pytestmark = pytest.mark.integration

SERVICE_ROLE = "papertape_service"


async def _owner(database: str) -> str:
    conn = await asyncpg.connect(database)
    try:
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
    finally:
        await conn.close()
    return str(owner)


_SIGNATURE = "text, integer, uuid[], text[], integer[], text[], text[]"

# Every way the service's login might try to rewrite the log or become someone else;
# {owner} is the log's owner.
REFUSED = [
    "UPDATE events SET type = 'forged'",
    "DELETE FROM events",
    "TRUNCATE events",
    "INSERT INTO events SELECT position + 100, stream_id, stream_version + 100,"
    " gen_random_uuid(), type, schema_version, data, metadata, recorded_at, prev_hash, hash"
    " FROM events",
    "COPY events FROM STDIN",
    "UPDATE log_head SET position = 1",
    "DELETE FROM log_head",
    "UPDATE hash_formulas SET from_position = 1000",
    "SET ROLE {owner}",
    "SET SESSION AUTHORIZATION {owner}",
    f"GRANT {{owner}} TO {SERVICE_ROLE}",
    f"ALTER ROLE {SERVICE_ROLE} SUPERUSER",
    "SET session_replication_role = replica",
    "ALTER TABLE events DISABLE TRIGGER events_append_only",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_append_only ON events",
    "CREATE FUNCTION public.forge() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
    f"CREATE OR REPLACE FUNCTION append_events({_SIGNATURE}) RETURNS void LANGUAGE sql AS 'SELECT'",
    f"ALTER FUNCTION append_events({_SIGNATURE}) SECURITY INVOKER",
    "DROP TABLE events",
]


async def test_the_service_login_is_no_superuser_and_appends_only_through_the_function(
    migrated_database: str, make_events: MakeEvents
) -> None:
    conn = await asyncpg.connect(migrated_database, user=SERVICE_ROLE)
    try:
        assert await conn.fetchval("SELECT current_user") == SERVICE_ROLE
        assert not await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles"
            " WHERE rolname = current_user"
        )
        assert await append_on(conn, "account-a", 0, make_events(2)) == [1, 2]
    finally:
        await conn.close()


@pytest.mark.parametrize("template", REFUSED, ids=lambda sql: sql[:40])
async def test_the_service_login_is_refused_every_way_to_change_history_or_leave_its_role(
    migrated_database: str, make_events: MakeEvents, template: str
) -> None:
    statement = template.format(owner=await _owner(migrated_database))
    conn = await asyncpg.connect(migrated_database, user=SERVICE_ROLE)
    try:
        await append_on(conn, "account-a", 0, make_events(2))
        with pytest.raises(asyncpg.PostgresError) as refusal:
            await conn.execute(statement)
        # after a refusal the login is still itself: RESET ROLE goes back to nothing else
        await conn.execute("RESET ROLE")
        assert await conn.fetchval("SELECT current_user") == SERVICE_ROLE
    finally:
        await conn.close()
    assert refusal.value.sqlstate == "42501", (statement, refusal.value)
    log = await PostgresEventLog.connect(migrated_database, migrate=False)
    try:
        assert (await verify_log(log)).ok
        assert await log.head_position() == 2
    finally:
        await log.close()


RELAY_ROLE = "papertape_relay"

# The relay reads the log and moves its own checkpoint: it may not append, rewrite the log,
# write a snapshot, or leave its role.
RELAY_REFUSED = [
    "SELECT append_events('account-a', 2, ARRAY[gen_random_uuid()], ARRAY['x'], ARRAY[1],"
    " ARRAY['{{}}'], ARRAY['{{}}'])",
    "INSERT INTO events SELECT position + 100, stream_id, stream_version + 100,"
    " gen_random_uuid(), type, schema_version, data, metadata, recorded_at, prev_hash, hash"
    " FROM events",
    "DELETE FROM events",
    "UPDATE log_head SET position = 1",
    "INSERT INTO snapshots (stream_id, state_schema_version, version, state)"
    " VALUES ('account-a', 1, 2, 'x')",
    "DELETE FROM checkpoints",
    "SET ROLE {owner}",
    f"SET ROLE {SERVICE_ROLE}",
]

# The services' role appends and snapshots; a follower's position is not its to move.
SERVICE_ON_FOLLOWERS = [
    "INSERT INTO checkpoints (name, position) VALUES ('relay.accounts', 999)",
    "UPDATE checkpoints SET position = 999",
    "DELETE FROM checkpoints",
    "DELETE FROM snapshots",
]


@pytest.mark.parametrize("template", RELAY_REFUSED, ids=lambda sql: sql[:40])
async def test_the_relay_login_reads_and_keeps_its_checkpoint_and_nothing_else(
    migrated_database: str, make_events: MakeEvents, template: str
) -> None:
    writer = await asyncpg.connect(migrated_database, user=SERVICE_ROLE)
    try:
        await append_on(writer, "account-a", 0, make_events(2))
    finally:
        await writer.close()
    conn = await asyncpg.connect(migrated_database, user=RELAY_ROLE)
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == 2
        await save_checkpoint_on(conn, "relay.accounts", 2)
        with pytest.raises(asyncpg.PostgresError) as refusal:
            await conn.execute(template.format(owner=await _owner(migrated_database)))
    finally:
        await conn.close()
    assert refusal.value.sqlstate == "42501", (template, refusal.value)


@pytest.mark.parametrize("statement", SERVICE_ON_FOLLOWERS, ids=lambda sql: sql[:40])
async def test_the_service_login_cannot_move_a_followers_checkpoint_or_drop_snapshots(
    migrated_database: str, statement: str
) -> None:
    conn = await asyncpg.connect(migrated_database, user=SERVICE_ROLE)
    try:
        with pytest.raises(asyncpg.PostgresError) as refusal:
            await conn.execute(statement)
    finally:
        await conn.close()
    assert refusal.value.sqlstate == "42501", (statement, refusal.value)
