"""``papertape audit republish``: a range of the log delivered to a new subscriber."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.api import StreamConfig

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.subjects import Subjects
from tests.cli.accountlog import deposited, opened, papertape, record

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def log(fresh_database: str) -> AsyncIterator[PostgresEventLog]:
    event_log = await PostgresEventLog.connect(fresh_database)
    try:
        await record(event_log, "alice", opened("alice"), deposited("alice", "1"))
        await record(event_log, "bob", opened("bob"))
        await record(event_log, "alice", deposited("alice", "2"), deposited("alice", "3"))
        yield event_log
    finally:
        await event_log.close()


async def test_republish_delivers_the_range_to_a_subscriber_in_order(
    log: PostgresEventLog,
    fresh_database: str,
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    subscription = await nats_client.subscribe(subjects.republish("newcomer"))
    await nats_client.flush()

    code = await papertape(
        "audit",
        "republish",
        "--subject-name",
        "newcomer",
        "--from-position",
        "2",
        "--to-position",
        "5",
        "--account",
        "alice",
        "--database-url",
        fresh_database,
        "--nats-url",
        nats_url,
        "--namespace",
        subjects.namespace,
    )

    received = [await subscription.next_msg(timeout=5) for _ in range(3)]
    await subscription.unsubscribe()
    stored = [e async for batch in log.read_all() for e in batch]
    wanted = [e for e in stored if e.stream_id == "account-alice" and 2 <= e.position <= 5]
    assert code == 0
    assert [m.headers and m.headers["Nats-Msg-Id"] for m in received] == [
        e.event_id for e in wanted
    ]
    envelopes = [json.loads(m.data) for m in received]
    assert [e["position"] for e in envelopes] == [2, 4, 5]
    assert [e["data"]["amount"] for e in envelopes] == ["1", "2", "3"]
    assert envelopes[0]["stream_id"] == "account-alice"


async def test_republish_to_jetstream_is_deduplicated_by_event_id(
    log: PostgresEventLog,
    fresh_database: str,
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    js = nats_client.jetstream()
    stream = subjects.stream("REPLAY_NEWCOMER")
    await js.add_stream(StreamConfig(name=stream, subjects=[subjects.republish("newcomer")]))
    argv = (
        "audit",
        "republish",
        "--subject-name",
        "newcomer",
        "--jetstream",
        "--database-url",
        fresh_database,
        "--nats-url",
        nats_url,
        "--namespace",
        subjects.namespace,
    )
    try:
        assert await papertape(*argv) == 0
        assert await papertape(*argv) == 0
        info = await js.stream_info(stream)
        assert info.state.messages == 5
    finally:
        await js.delete_stream(stream)


async def test_republish_to_jetstream_without_a_stream_fails_clearly(
    log: PostgresEventLog,
    fresh_database: str,
    nats_url: str,
    subjects: Subjects,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await papertape(
        "audit",
        "republish",
        "--subject-name",
        "nobody",
        "--jetstream",
        "--database-url",
        fresh_database,
        "--nats-url",
        nats_url,
        "--namespace",
        subjects.namespace,
    )

    assert code == 1
    assert "papertape: error:" in capsys.readouterr().err


async def test_republish_with_json_prints_the_subject_and_the_count(
    log: PostgresEventLog,
    fresh_database: str,
    nats_url: str,
    subjects: Subjects,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await papertape(
        "audit",
        "republish",
        "--subject-name",
        "counted",
        "--account",
        "bob",
        "--json",
        "--database-url",
        fresh_database,
        "--nats-url",
        nats_url,
        "--namespace",
        subjects.namespace,
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "subject": subjects.republish("counted"),
        "published": 1,
    }
