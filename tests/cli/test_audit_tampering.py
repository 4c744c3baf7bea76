"""``audit verify`` against a superuser who rewrites history: every way is caught at the first
bad position, the tail cases (a consistent re-hash, a forged last event, a rewound head)
through an anchor taken before the tampering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.client import Client

from papertape.common.eventlog import RecordedEvent, event_hash
from papertape.common.eventlog.anchors import append_anchor_file, take_anchor
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.subjects import StreamSpec, Subjects
from tests.cli.accountlog import deposited, opened, papertape, record, withdrawn

pytestmark = pytest.mark.integration

Tamper = Callable[[asyncpg.Connection], Awaitable[None]]


@pytest_asyncio.fixture
async def log(fresh_database: str) -> AsyncIterator[PostgresEventLog]:
    event_log = await PostgresEventLog.connect(fresh_database)
    try:
        yield event_log
    finally:
        await event_log.close()


async def _history(log: PostgresEventLog) -> None:
    """alice at positions 1, 2, 4, 5; bob at 3."""
    await record(log, "alice", opened("alice"), deposited("alice", "500"))
    await record(log, "bob", opened("bob", "2000"))
    await record(log, "alice", withdrawn("alice", "200"), deposited("alice", "50", minutes=3))


_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, type, schema_version,"
    " data::text, metadata::text, recorded_at, prev_hash, hash"
)


async def _rehash_from(conn: asyncpg.Connection, first: int) -> None:
    """Re-chain every row from ``first`` and move the head: the database is consistent again."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM events ORDER BY position")
    prev = bytes(rows[first - 2]["hash"]) if first > 1 else bytes(32)
    for row in rows[first - 1 :]:
        event = RecordedEvent(*row)
        digest = event_hash(
            prev,
            event.position,
            event.stream_id,
            event.stream_version,
            event.event_id,
            event.type,
            event.schema_version,
            event.data,
            event.metadata,
            event.recorded_at,
        )
        await conn.execute(
            "UPDATE events SET prev_hash = $1, hash = $2 WHERE position = $3",
            prev,
            digest,
            event.position,
        )
        prev = digest
    await conn.execute("UPDATE log_head SET position = $1, hash = $2", rows[-1]["position"], prev)


async def _byte_of_data(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE events SET data = jsonb_set(data, '{amount}', '\"5000\"') WHERE position = 4"
    )


async def _deleted_row(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM events WHERE position = 3")


async def _swapped_events(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE events SET position = -2 WHERE position = 2")
    await conn.execute("UPDATE events SET position = 2 WHERE position = 3")
    await conn.execute("UPDATE events SET position = 3 WHERE position = -2")


async def _changed_actor(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE events SET metadata = jsonb_set(metadata, '{actor}', '\"mallory\"')"
        " WHERE position = 2"
    )


async def _changed_recorded_time(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE events SET recorded_at = recorded_at + interval '1 second' WHERE position = 3"
    )


async def _recorded_time_moved_back_and_rehashed(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE events SET recorded_at = recorded_at - interval '1 hour' WHERE position = 3"
    )
    await _rehash_from(conn, 3)


async def _rehashed_last_event(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE events SET data = jsonb_set(data, '{amount}', '\"5000\"') WHERE position = 5"
    )
    await _rehash_from(conn, 5)


async def _forged_last_event(conn: asyncpg.Connection) -> None:
    # The real last event is replaced by another one with a fresh id and a correct hash.
    await conn.execute(
        "UPDATE events SET event_id = gen_random_uuid(),"
        " data = jsonb_set(data, '{amount}', '\"9999\"') WHERE position = 5"
    )
    await _rehash_from(conn, 5)


async def _forged_appended_event(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO events SELECT 6, 'account-bob', 2, gen_random_uuid(), type, schema_version,"
        " jsonb_set(data, '{account_id}', '\"bob\"'), metadata, recorded_at, hash, hash"
        " FROM events WHERE position = 5"
    )
    head = await conn.fetchrow("SELECT position, hash FROM log_head")
    assert head is not None
    await _rehash_from(conn, 6)
    # ... but the head row is put back as it was, as if nothing had been appended
    await conn.execute("UPDATE log_head SET position = $1, hash = $2", *head)


async def _rewound_head(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE log_head SET position = 3, hash = (SELECT hash FROM events WHERE position = 3)"
    )


async def _truncated_tail_and_rewound_head(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM events WHERE position > 3")
    await _rehash_from(conn, 3)


async def _head_hash_changed(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE log_head SET hash = sha256(hash)")


# (tamper, first bad position, reason starts with, caught only through the anchor)
CASES: list[tuple[Tamper, int, str, bool]] = [
    (_byte_of_data, 4, "hash does not match the event's contents", False),
    (_deleted_row, 3, "position gap", False),
    (_swapped_events, 2, "previous hash does not match", False),
    (_changed_actor, 2, "hash does not match the event's contents", False),
    (_changed_recorded_time, 3, "hash does not match the event's contents", False),
    (_recorded_time_moved_back_and_rehashed, 3, "recorded time runs backwards", False),
    (_rehashed_last_event, 5, "the hash at 5 does not match its anchor", True),
    (_forged_last_event, 5, "the hash at 5 does not match its anchor", True),
    (_forged_appended_event, 6, "a row lies beyond the head 5", False),
    (_rewound_head, 4, "a row lies beyond the head 3", False),
    (_truncated_tail_and_rewound_head, 4, "the log ends before the anchor at 5", True),
    (_head_hash_changed, 5, "the head's hash does not match the last event", False),
]


@pytest.mark.parametrize(
    ("tamper", "position", "reason", "through_anchor"),
    CASES,
    ids=[case[0].__name__.lstrip("_") for case in CASES],
)
async def test_verify_catches_a_superuser_tampering_at_the_first_bad_position(
    log: PostgresEventLog,
    fresh_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Tamper,
    position: int,
    reason: str,
    through_anchor: bool,
) -> None:
    await _history(log)
    anchors = tmp_path / "anchors.jsonl"
    append_anchor_file(anchors, await take_anchor(log))
    conn = await asyncpg.connect(fresh_database)
    try:
        # A superuser bypasses the append-only trigger: replication role skips triggers.
        await conn.execute("SET session_replication_role = replica")
        await tamper(conn)
    finally:
        await conn.close()

    capsys.readouterr()
    unanchored = await papertape(
        "audit", "verify", "--database-url", fresh_database, "--no-live", "--json"
    )
    without = json.loads(capsys.readouterr().out)
    code = await papertape(
        "audit", "verify", "--database-url", fresh_database, "--no-live", "--json",
        "--anchor-file", str(anchors),
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)

    assert code == 1
    assert report["log"]["first_bad_position"] == position
    assert report["log"]["reason"].startswith(reason)
    assert (unanchored == 0) is through_anchor, without


async def test_an_untouched_log_verifies_against_its_anchors(
    log: PostgresEventLog, fresh_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    append_anchor_file(anchors, await take_anchor(log))  # the empty log: position 0
    await record(log, "alice", opened("alice"), deposited("alice", "500"))
    append_anchor_file(anchors, await take_anchor(log))
    await record(log, "bob", opened("bob", "2000"))
    append_anchor_file(anchors, await take_anchor(log))

    code = await papertape(
        "audit", "verify", "--database-url", fresh_database, "--no-live",
        "--anchor-file", str(anchors),
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "anchors checked: 3" in out


async def test_anchors_published_to_nats_catch_a_rehashed_tail(
    log: PostgresEventLog,
    fresh_database: str,
    nats_url: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _history(log)
    where = ["--database-url", fresh_database, "--nats-url", nats_url]
    where += ["--namespace", subjects.namespace]
    file = tmp_path / "anchors.jsonl"

    anchored = await papertape("audit", "anchor", *where, "--file", str(file), "--json")
    anchor = json.loads(capsys.readouterr().out)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        await _rehashed_last_event(conn)
    finally:
        await conn.close()
    code = await papertape("audit", "verify", *where, "--no-live", "--anchors-from-nats", "--json")

    report = json.loads(capsys.readouterr().out)
    info = await nats_client.jetstream().stream_info(subjects.stream("ANCHORS"))
    assert anchored == 0
    assert anchor["position"] == 5
    assert json.loads(file.read_text())["hash"] == anchor["hash"]
    assert info.state.messages == 1
    assert code == 1
    assert report["log"]["first_bad_position"] == 5
    assert report["log"]["anchors_checked"] == 1
