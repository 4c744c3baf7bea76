"""The gateway's request multiplexer: replies matched to their requests, timeouts, no responders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.gateway.replies import Replies


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def test_concurrent_requests_each_get_their_own_reply_with_headers(nc: Client) -> None:
    subject = f"t{uuid.uuid4().hex[:8]}.echo"

    async def echo(msg: Msg) -> None:
        await asyncio.sleep(0.01 if msg.data.endswith(b"0") else 0)  # out of order
        await msg.respond(msg.data + (msg.headers or {}).get("h", "").encode())

    await nc.subscribe(subject, cb=echo)
    replies = Replies(nc)
    answers = await asyncio.gather(
        *(replies.request(subject, b"%d" % n, within=5, headers={"h": "!"}) for n in range(50))
    )
    assert [a.data for a in answers] == [b"%d!" % n for n in range(50)]
    assert replies._pending == {}


async def test_no_responders_and_timeouts_raise_as_nats_py_does(nc: Client) -> None:
    replies = Replies(nc)
    with pytest.raises(NoRespondersError):
        await replies.request(f"t{uuid.uuid4().hex[:8]}.nobody", b"", within=5)
    silent = f"t{uuid.uuid4().hex[:8]}.silent"

    async def ignore(msg: Msg) -> None:
        pass

    await nc.subscribe(silent, cb=ignore)
    with pytest.raises(NatsTimeout):
        await replies.request(silent, b"", within=0.1)
    assert replies._pending == {}
