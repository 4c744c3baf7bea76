"""``publish_all`` as one fast-ingest batch: stored in order and once, ended at a refused
message, and the ordinary path where the stream or the server does not take fast batches."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.errors import APIError

from papertape.common.bus.fastbatch import MAX_BATCH, fast_batches, supports_fast_batches
from papertape.common.bus.publishing import Outgoing, headers_for, publish_all, publish_in_order
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.subjects import StreamSpec

pytestmark = pytest.mark.integration

SYSTEM_NATS = "nats://127.0.0.1:4222"


@pytest_asyncio.fixture
async def stream(nats_client: Client) -> AsyncIterator[tuple[str, str]]:
    """A stream declared as the platform declares its own (name, subject prefix)."""
    if not supports_fast_batches(nats_client):
        pytest.skip(f"nats-server {nats_client.connected_server_version} predates fast batches")
    name = f"FAST{uuid.uuid4().hex[:10].upper()}"
    spec = StreamSpec(name=name, subjects=(f"{name.lower()}.>",), description="fast batch test")
    await declare_streams(nats_client, [spec])
    try:
        yield name, name.lower()
    finally:
        await delete_streams(nats_client, [spec])


def _batch(prefix: str, ids: range) -> list[Outgoing]:
    return [
        Outgoing(f"{prefix}.acct.a{i % 3}", f"{i}".encode(), f"m{i}", headers_for(f"m{i}"))
        for i in ids
    ]


async def _stored(js: Any, stream: str) -> list[bytes]:
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    return [
        (await js.get_msg(stream, seq)).data
        for seq in range(info.state.first_seq, info.state.last_seq + 1)
    ]


class _NoOrdinaryPublish:
    """A JetStream context whose per-message path fails the test: the batch must go fast."""

    def __init__(self, js: Any) -> None:
        self._nc = js._nc

    async def publish_async(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("published message by message")


async def test_a_batch_is_stored_in_order_once_without_an_ack_per_message(
    nats_client: Client, stream: tuple[str, str]
) -> None:
    name, prefix = stream
    js = nats_client.jetstream()
    fast: Any = _NoOrdinaryPublish(js)
    batch = _batch(prefix, range(1, 2 * MAX_BATCH + 7))  # three batches on the wire
    await publish_all(fast, batch, chained=True)
    expected = [m.payload for m in batch]
    assert await _stored(js, name) == expected
    await publish_all(fast, batch, chained=True)  # sent again (a relay after a crash)
    await publish_all(fast, _batch(prefix, range(5, 9)))  # a part of it again
    assert await _stored(js, name) == expected  # the dedup window kept one of each


@pytest.mark.parametrize("chained", [False, True])
async def test_a_refused_message_ends_the_batch_there(
    nats_client: Client, stream: tuple[str, str], chained: bool
) -> None:
    """The third message names another stream and is refused: the first two stay stored,
    nothing after the third is (chained or not), and the slow path sends the rest in order."""
    name, prefix = stream
    js = nats_client.jetstream()
    batch = _batch(prefix, range(1, 7))
    refused = Outgoing(
        batch[2].subject,
        batch[2].payload,
        batch[2].msg_id,
        {**headers_for("m3"), "Nats-Expected-Stream": "ELSEWHERE"},
    )
    with pytest.raises(APIError):
        await publish_all(js, [*batch[:2], refused, *batch[3:]], chained=chained)
    assert await _stored(js, name) == [b"1", b"2"]
    await publish_in_order(js, batch)
    assert await _stored(js, name) == [m.payload for m in batch]


async def test_a_stream_without_fast_batches_gets_every_message_the_ordinary_way(
    nats_client: Client,
) -> None:
    """A stream this platform did not declare (no ``allow_batched``): the batch is stored all
    the same, and the connection stops trying fast batches."""
    if not supports_fast_batches(nats_client):
        pytest.skip("the server predates fast batches")
    js = nats_client.jetstream()
    name = f"PLAIN{uuid.uuid4().hex[:10].upper()}"
    await js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
    try:
        assert fast_batches(js) is not None
        batch = _batch(name.lower(), range(1, 11))
        await publish_all(js, batch, chained=True)
        assert await _stored(js, name) == [m.payload for m in batch]
        assert fast_batches(js) is None
        await publish_all(js, _batch(name.lower(), range(11, 14)))
        assert len(await _stored(js, name)) == 13
    finally:
        await js.delete_stream(name)


async def test_concurrent_batches_are_told_apart(
    nats_client: Client, stream: tuple[str, str]
) -> None:
    """Batches of several tasks on one connection, each answered as its own."""
    name, prefix = stream
    js = nats_client.jetstream()
    batches = [_batch(f"{prefix}.t{t}", range(t * 100, t * 100 + 100)) for t in range(8)]
    await asyncio.gather(*(publish_all(js, b, chained=True) for b in batches))
    stored = await _stored(js, name)
    assert sorted(stored) == sorted(m.payload for b in batches for m in b)
    for b in batches:  # each batch's own order holds among the others
        positions = [stored.index(m.payload) for m in b]
        assert positions == sorted(positions)


async def test_a_server_before_fast_batches_gets_the_ordinary_path() -> None:
    """The machine's own NATS, where it is older than 2.14: streams are declared without the
    option it does not know and batches go message by message."""
    try:
        nc = await nats.connect(SYSTEM_NATS, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as exc:
        pytest.skip(f"no NATS at {SYSTEM_NATS}: {exc}")
    try:
        if supports_fast_batches(nc):
            pytest.skip(f"the NATS at {SYSTEM_NATS} takes fast batches")
        js = nc.jetstream()
        assert fast_batches(js) is None
        name = f"OLD{uuid.uuid4().hex[:10].upper()}"
        spec = StreamSpec(name=name, subjects=(f"{name.lower()}.>",), description="old server")
        await declare_streams(nc, [spec])
        try:
            batch = _batch(name.lower(), range(1, 6))
            await publish_all(js, batch, chained=True)
            assert await _stored(js, name) == [m.payload for m in batch]
        finally:
            await delete_streams(nc, [spec])
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
