"""A tiny HTTP/1.1 server on loopback for tests and benchmarks to receive webhooks and API calls.

Each request is read whole (headers and a ``Content-Length`` body), handed to ``answer``, which
returns the status and JSON body to send (and may sleep, to play a slow target); connections
are kept alive. Every request is kept, with when it arrived, in ``requests``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One request as the stand-in read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)
    """Wall-clock arrival (seconds since the epoch)."""


Answer = Callable[[Received], Awaitable[tuple[int, bytes]]]


async def accept_all(_request: Received) -> tuple[int, bytes]:
    return 200, b'{"ok": true}'


class HttpStandIn:
    """Serves ``answer`` on 127.0.0.1 at a free port until closed."""

    def __init__(self, answer: Answer = accept_all) -> None:
        self.answer = answer
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the stand-in first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpStandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> HttpStandIn:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: requests one after another until the client closes
                request = await self._read(reader)
                self.requests.append(request)
                status, answer = await self.answer(request)
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client went away (or sent what is not HTTP): nothing to answer
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0")), MAX_BODY)
        body = await reader.readexactly(length) if length else b""
        return Received(method, path, headers, body)
