"""Frames built once for every client, written straight to each client's connection.

Going through ASGI costs every client of a fan-out its own ``send``: an await, the framework's
wrappers, the protocol's framing. A server's frames are not masked, so one message makes the
same bytes for every client: the hub builds the frame once (``Outgoing``) and each session
writes it to its transport while that transport takes writes. uvicorn's sans-I/O protocol is
extended (``FrameProtocol``, the gateway's ``ws`` protocol) to hand the app its connection as
the ASGI extension ``papertape.frames``; without it (another server), messages go through ASGI.

A frame is written only while the connection is open, nothing waits in the session's buffer
and the transport is not paused (its buffer is over the high-water mark); otherwise the message
waits in the session's bounded buffer. What a client that stops reading can hold up is bounded
end to end: the kernel's send buffer of its socket (fixed at ``SEND_BUFFER``, where Linux would
let it grow to megabytes), the transport's 64 KiB, then ``ws_buffer`` messages, after which it
is cut off. Frames are sent uncompressed (RSV1 unset), which permessage-deflate allows for any
message.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "papertape.frames"
SEND_BUFFER = 256 * 1024
"""Bytes the kernel may hold for one client (a fixed size ends the socket's autotuning)."""
_TEXT = 0x81
"""FIN and the text opcode."""


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame carrying ``payload`` (RFC 6455 5.2)."""
    size = len(payload)
    if size < 126:
        head = bytes((_TEXT, size))
    elif size < 1 << 16:
        head = bytes((_TEXT, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((_TEXT, 127)) + size.to_bytes(8, "big")
    return head + payload


class Outgoing:
    """One message for many clients: its text (for ASGI) and its frame, each made once."""

    __slots__ = ("_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text.encode())
        return self._frame


class Frames:
    """A client's connection, as the fan-out writes to it."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def writable(self) -> bool:
        """Open, and the transport takes writes now (not paused, not closing)."""
        p = self._protocol
        return (
            p.handshake_complete
            and not p.close_sent
            and not p.disconnected
            and p.writable.is_set()
            and not p.transport.is_closing()
        )

    def write(self, message: Outgoing) -> None:
        self._protocol.transport.write(message.frame)

    async def until_writable(self) -> None:
        """Until the transport takes writes again (or the connection is lost)."""
        await self._protocol.writable.wait()


class FrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol that offers the app ``Frames`` in its scope."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        raw = transport.get_extra_info("socket")
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:  # None: the handshake was refused
            scope["extensions"][EXTENSION] = Frames(self)


def frames_of(scope: Any) -> Frames | None:
    """The connection's ``Frames`` (None: the server does not offer them)."""
    found = (scope.get("extensions") or {}).get(EXTENSION)
    return found if isinstance(found, Frames) else None
