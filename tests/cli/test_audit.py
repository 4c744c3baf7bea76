"""``papertape audit``: verify, replay, export and fork against a real PostgreSQL event log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec
import pytest
import pytest_asyncio

from papertape.common.eventlog import RecordedEvent, decode_metadata, event_hash
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import account_stream
from papertape.trading.account import STATE_SCHEMA_VERSION, replay, to_snapshot
from tests.cli.accountlog import deposited, opened, papertape, record, withdrawn

pytestmark = pytest.mark.integration


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


async def _all(log: PostgresEventLog) -> list[RecordedEvent]:
    return [event async for batch in log.read_all() for event in batch]


async def test_verify_passes_on_an_untouched_log_with_snapshots(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)
    state = replay([opened("alice"), deposited("alice", "500")])
    await log.save_snapshot(
        account_stream("alice"), 2, STATE_SCHEMA_VERSION, msgspec.json.encode(to_snapshot(state))
    )

    code = await papertape("audit", "verify", "--database-url", fresh_database, "--no-live")

    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 of 5 events checked" in out
    assert "snapshots checked: 1" in out
    assert out.rstrip().endswith("OK")


async def test_verify_names_the_first_bad_position_in_its_text_output(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE events SET stream_id = 'account-carol' WHERE position = 3")
    finally:
        await conn.close()

    code = await papertape("audit", "verify", "--database-url", fresh_database, "--no-live")

    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL at position 3" in out
    assert "first bad position: 3" in out


async def test_a_snapshot_that_differs_from_the_replay_fails_verify(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)
    wrong = replay([opened("alice"), deposited("alice", "999")])
    await log.save_snapshot(
        account_stream("alice"), 2, STATE_SCHEMA_VERSION, msgspec.json.encode(to_snapshot(wrong))
    )

    code = await papertape(
        "audit", "verify", "--database-url", fresh_database, "--no-live", "--json"
    )

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["log"]["first_bad_position"] is None
    (mismatch,) = report["mismatches"]
    assert mismatch["account_id"] == "alice"
    assert mismatch["source"] == "snapshot"
    assert mismatch["position"] == 2
    assert "cash" in mismatch["fields"]


async def test_replay_as_of_a_position_gives_the_state_after_exactly_those_events(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape(
        "audit",
        "replay",
        "alice",
        "--as-of-position",
        "4",
        "--json",
        "--database-url",
        fresh_database,
    )

    statement = json.loads(capsys.readouterr().out)
    assert code == 0
    assert statement["version"] == 3
    assert statement["last_event_position"] == 4
    assert Decimal(statement["summary"]["cash"]) == Decimal(10000 + 500 - 200)


async def test_replay_as_of_a_time_stops_at_the_last_event_recorded_by_then(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)
    events = await _all(log)

    code = await papertape(
        "audit",
        "replay",
        "alice",
        "--as-of-time",
        events[1].recorded_at.isoformat(),
        "--json",
        "--database-url",
        fresh_database,
    )

    statement = json.loads(capsys.readouterr().out)
    assert code == 0
    assert statement["as_of_position"] == 2
    assert Decimal(statement["summary"]["cash"]) == Decimal(10500)


async def test_replay_prints_a_statement_table(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape("audit", "replay", "bob", "--database-url", fresh_database)

    out = capsys.readouterr().out
    assert code == 0
    assert "account bob as of position 5 (version 1)" in out
    assert "2000" in out


async def test_replay_of_an_unknown_account_fails_clearly(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape("audit", "replay", "nobody", "--database-url", fresh_database)

    assert code == 1
    assert "account 'nobody' has no events" in capsys.readouterr().err


async def test_export_writes_every_event_as_parseable_jsonl(
    log: PostgresEventLog, fresh_database: str, tmp_path: Path
) -> None:
    await _history(log)
    target = tmp_path / "log.jsonl"

    code = await papertape(
        "audit", "export", "--all", "--output", str(target), "--database-url", fresh_database
    )

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    stored = await _all(log)
    assert code == 0
    assert [line["position"] for line in lines] == [1, 2, 3, 4, 5]
    assert [line["event_id"] for line in lines] == [e.event_id for e in stored]
    assert [line["hash"] for line in lines] == [e.hash.hex() for e in stored]
    assert lines[1]["data"]["amount"] == "500"


async def test_an_export_line_holds_what_its_hash_covers(
    log: PostgresEventLog, fresh_database: str, tmp_path: Path
) -> None:
    await _history(log)
    target = tmp_path / "log.jsonl"

    await papertape("audit", "export", "-o", str(target), "--database-url", fresh_database)

    line = json.loads(target.read_text().splitlines()[0])
    stored = (await _all(log))[0]
    assert line["data"] == json.loads(stored.data)
    assert event_hash(
        bytes.fromhex(line["prev_hash"]),
        line["position"],
        line["stream_id"],
        line["stream_version"],
        line["event_id"],
        line["type"],
        line["schema_version"],
        stored.data,
        stored.metadata,
        stored.recorded_at,
    ) == bytes.fromhex(line["hash"])


async def test_export_of_one_account_in_a_range_holds_only_its_events(
    log: PostgresEventLog, fresh_database: str, tmp_path: Path
) -> None:
    await _history(log)
    target = tmp_path / "alice.jsonl"

    await papertape(
        "audit",
        "export",
        "--account",
        "alice",
        "--from-position",
        "2",
        "--to-position",
        "4",
        "-o",
        str(target),
        "--database-url",
        fresh_database,
    )

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(line["stream_id"], line["position"]) for line in lines] == [
        ("account-alice", 2),
        ("account-alice", 4),
    ]


async def test_fork_copies_history_up_to_the_position_and_leaves_the_original_untouched(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)
    before = await _all(log)

    code = await papertape(
        "audit",
        "fork",
        "alice",
        "--as-of-position",
        "4",
        "--into",
        "alice-what-if",
        "--database-url",
        fresh_database,
    )

    assert code == 0
    assert "3 events at positions 6..8" in capsys.readouterr().out
    after = await _all(log)
    assert after[:5] == before
    copies = [e for e in after if e.stream_id == "account-alice-what-if"]
    originals = [e for e in before if e.stream_id == "account-alice" and e.position <= 4]
    assert [c.stream_version for c in copies] == [1, 2, 3]
    assert [decode_metadata(c).causation_id for c in copies] == [o.event_id for o in originals]
    assert {json.loads(c.data)["account_id"] for c in copies} == {"alice-what-if"}
    assert not {c.event_id for c in copies} & {o.event_id for o in originals}

    await papertape("audit", "replay", "alice-what-if", "--json", "--database-url", fresh_database)
    statement = json.loads(capsys.readouterr().out)
    assert Decimal(statement["summary"]["cash"]) == Decimal(10300)
    assert statement["summary"]["account_id"] == "alice-what-if"


async def test_a_fork_into_an_existing_account_is_refused(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape(
        "audit",
        "fork",
        "alice",
        "--as-of-position",
        "2",
        "--into",
        "bob",
        "--database-url",
        fresh_database,
    )

    assert code == 1
    assert "account 'bob' exists already" in capsys.readouterr().err
    assert await log.head_position() == 5


async def test_a_retried_fork_appends_nothing_new(
    log: PostgresEventLog, fresh_database: str
) -> None:
    await _history(log)
    argv = (
        "audit",
        "fork",
        "alice",
        "--as-of-position",
        "2",
        "--into",
        "twin",
        "--database-url",
        fresh_database,
    )

    assert await papertape(*argv) == 0
    assert await papertape(*argv) == 0
    assert await log.stream_version("account-twin") == 2
    assert await log.head_position() == 7


async def test_verify_fails_clearly_when_the_database_has_no_event_log(
    fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await papertape("audit", "verify", "--database-url", fresh_database, "--no-live")

    assert code == 1
    assert "papertape: error:" in capsys.readouterr().err


async def test_fork_with_json_prints_the_new_account_and_its_positions(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape(
        "audit",
        "fork",
        "bob",
        "--as-of-position",
        "3",
        "--into",
        "bob-2",
        "--json",
        "--database-url",
        fresh_database,
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "account_id": "bob-2",
        "source_account_id": "bob",
        "as_of_position": 3,
        "events": 1,
        "positions": [6],
    }


async def test_export_with_json_is_the_same_json_lines(
    log: PostgresEventLog, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(log)

    code = await papertape("audit", "export", "--all", "--json", "--database-url", fresh_database)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [line["position"] for line in lines] == [1, 2, 3, 4, 5]
