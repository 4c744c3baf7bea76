"""The HTTP/1.1 protocol: httptools when installed, a request's head bounded as h11 bounds it."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from papertape.gateway.http1 import INVALID, http_protocol
from tests.gateway.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PIECE = b"x-filler: " + b"y" * 1000 + b"\r\n"


def test_the_gateway_serves_with_httptools_when_it_is_installed() -> None:
    protocol = http_protocol()
    assert isinstance(protocol, type)
    assert issubclass(protocol, HttpToolsProtocol)


async def _connect(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = urlsplit(stack.url)
    assert address.hostname is not None
    assert address.port is not None
    return await asyncio.open_connection(address.hostname, address.port)


async def _head_in_reads(stack: Stack, pieces: int, *, end: bool) -> bytes:
    """What the gateway answers a GET whose head comes in ``pieces`` reads of a header each
    (read after each: the gateway closes the connection once it refuses)."""
    reader, writer = await _connect(stack)
    try:
        writer.write(b"GET /api/v1/accounts HTTP/1.1\r\nhost: gateway\r\n")
        for _ in range(pieces):
            await writer.drain()
            with contextlib.suppress(TimeoutError):  # a read each: the head stays incomplete
                return await asyncio.wait_for(reader.read(65536), timeout=0.02)
            writer.write(PIECE)
        if end:
            writer.write(b"\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()


async def test_a_head_that_never_ends_is_refused_with_400_past_16_kib(stack: Stack) -> None:
    answer = await _head_in_reads(stack, 100, end=False)  # ~100 KB of headers, no end
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.endswith(INVALID.encode()), answer[-200:]


async def test_a_head_under_the_bound_over_several_reads_is_served(stack: Stack) -> None:
    answer = await _head_in_reads(stack, 8, end=True)  # ~8 KB in 8 reads
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]  # no key: the guard's answer


async def test_pipelined_requests_with_bodies_are_each_answered(stack: Stack) -> None:
    body = b'{"account_id": "p", "name": "' + b"n" * 20_000 + b'"}'
    request = (
        b"POST /api/v1/accounts HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    reader, writer = await _connect(stack)
    try:
        writer.write(request * 3)  # three bodies past 16 KiB in one write: no head is long
        await writer.drain()
        answered = b""
        while answered.count(b"HTTP/1.1 ") < 3:
            answered += await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()
    assert answered.count(b"HTTP/1.1 401 ") == 3, answered
