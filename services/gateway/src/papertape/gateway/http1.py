"""The HTTP/1.1 protocol the gateway serves: uvicorn's httptools one, a request's head bounded
as h11 bounds it.

httptools (llhttp, in C) parses a request for less CPU than h11 (bench/gateway_bench.py on
uvloop: the gateway's CPU per placement about a tenth lower), but uvicorn's httptools protocol
puts no bound on a request's head: a client that sends headers without ever ending them is
buffered without end. h11 refuses a head still incomplete past ``h11_max_incomplete_event_size``
(16 KiB by default) with 400 ``Invalid HTTP request received.`` and closes the connection; this
protocol does the same, with the same setting, so the guard holds whichever parser serves.
Without httptools installed the gateway serves with h11 (``http_protocol``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE

H11 = "h11"
INVALID = "Invalid HTTP request received."
"""What uvicorn answers a request it cannot parse, with either parser."""


def http_protocol() -> type[asyncio.Protocol] | str:
    """httptools with a bounded head when httptools is installed, else uvicorn's h11."""
    try:
        return _bounded()
    except ImportError:
        return H11


def _bounded() -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol that refuses a head left incomplete past h11's limit."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            limit = self.config.h11_max_incomplete_event_size
            self.head_limit = DEFAULT_MAX_INCOMPLETE_EVENT_SIZE if limit is None else limit
            self.head_bytes = 0  # received since the read the current head began in
            self.in_head = False
            self.began = False  # the current head began in the data being parsed

        def data_received(self, data: bytes) -> None:
            self.began = False
            super().data_received(data)
            if not self.in_head or self.began or self.transport.is_closing():
                return
            # The read a head began in is not counted (it may hold the body before it, of
            # a pipelined request): a head is refused once more than the limit came after
            # it, so what is buffered for it stays under one read and the limit.
            self.head_bytes += len(data)
            if self.head_bytes > self.head_limit:
                self.logger.warning(INVALID)
                self.send_400_response(INVALID)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.in_head = self.began = True
            self.head_bytes = 0

        def on_headers_complete(self) -> None:
            self.in_head = False
            super().on_headers_complete()

    return BoundedHttpToolsProtocol
