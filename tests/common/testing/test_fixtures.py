"""The plugin's fixtures talk to a real JetStream server and a real PostgreSQL server."""

from __future__ import annotations

import asyncpg
import pytest
from nats.aio.client import Client

from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration


async def test_jetstream_streams_accept_a_publish_that_reads_back_with_an_ack(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    js = nats_client.jetstream()
    subject = subjects.quote("BTCUSD")
    ack = await js.publish(subject, b'{"bid":"100.5"}', headers={"Nats-Msg-Id": "q-1"})
    assert ack.stream == subjects.stream("MARKET")
    sub = await js.pull_subscribe(subject, durable="fixture-check", stream=ack.stream)
    (msg,) = await sub.fetch(1, timeout=5)
    await msg.ack_sync()
    assert msg.data == b'{"bid":"100.5"}'
    assert {spec.name for spec in jetstream_streams} >= {ack.stream}


async def test_fresh_database_takes_a_table_an_insert_and_a_select(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'") == 0
        await conn.execute("CREATE TABLE positions (symbol text PRIMARY KEY, qty numeric)")
        await conn.execute("INSERT INTO positions VALUES ('ETHUSD', 2.5)")
        assert str(await conn.fetchval("SELECT qty FROM positions")) == "2.5"
    finally:
        await conn.close()


async def test_each_test_gets_its_own_database(
    fresh_database: str, postgres_server_url: str
) -> None:
    conn = await asyncpg.connect(postgres_server_url)
    try:
        name = fresh_database.rsplit("/", 1)[1].split("?")[0]
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) == 1
    finally:
        await conn.close()


def test_namespaces_differ_between_subjects_fixtures(subjects: Subjects) -> None:
    assert subjects.namespace
    assert subjects.namespace != Subjects().namespace
