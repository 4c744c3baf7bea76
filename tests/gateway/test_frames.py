"""Frames made once for every client: valid WebSocket frames, written straight to a connection
that takes writes, queued in order behind anything waiting when it does not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.sockets.frames import Frames, Outgoing, text_frame
from papertape.gateway.sockets.session import Session

KEY = ApiKey("k", "h", AccountId("a"), frozenset({ApiScope.READ}), "")


def _parsed(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_text_frame_reads_back_as_its_payload_at_every_length(size: int) -> None:
    payload = ("x" * size).encode()
    frame = _parsed(text_frame(payload))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


def test_an_outgoing_message_is_framed_once() -> None:
    message = Outgoing('{"type":"pong"}')
    assert message.frame is message.frame
    assert _parsed(message.frame).data == b'{"type":"pong"}'


class _Connection(Frames):
    """A connection that takes writes while ``open`` (what it took, in order, in ``wire``)."""

    def __init__(self) -> None:
        self.open = True
        self.wire: list[str] = []
        self.resumed = asyncio.Event()

    def writable(self) -> bool:
        return self.open

    def write(self, message: Outgoing) -> None:
        self.wire.append(message.text)

    async def until_writable(self) -> None:
        await self.resumed.wait()


def _session(connection: _Connection, buffer: int = 10) -> Session:
    nowhere: Any = None  # neither the socket nor the services are reached
    return Session(nowhere, KEY, nowhere, buffer, frames=connection)


async def test_a_connection_that_takes_writes_gets_the_frame_at_once_without_the_queue() -> None:
    connection = _Connection()
    session = _session(connection)
    session.offer(Outgoing("1"))
    assert (connection.wire, session.queue.qsize(), session.sent) == (["1"], 0, 1)


async def test_messages_wait_in_order_while_the_connection_is_paused_then_go_out_first() -> None:
    connection = _Connection()
    session = _session(connection)
    writer = asyncio.create_task(session.drain())
    connection.open = False  # paused: the transport's buffer is over its high-water mark
    session.offer(Outgoing("1"))
    session.offer(Outgoing("2"))
    await asyncio.sleep(0)  # the writer takes "1" and waits for the connection
    connection.open = True
    session.offer(Outgoing("3"))  # takes writes again, but "1" and "2" are still waiting
    assert connection.wire == []
    connection.resumed.set()
    for _ in range(10):
        await asyncio.sleep(0)
    session.offer(Outgoing("4"))  # nothing waits any more: straight out
    writer.cancel()
    assert connection.wire == ["1", "2", "3", "4"]
