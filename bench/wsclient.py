"""A minimal WebSocket client, the fill reports of the gateway's fan-out bench, and the
decoders of the socket messages the benches read.

The client reads frames in ``data_received`` and notes the wall-clock moment their bytes reached
the process: no task per message, so 1,000 of them in one process cost the bench little.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionModels, OrderFillReported
from papertape.contract.events.orders import Liquidity, OrderSide
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    OrderId,
    StreamId,
    Symbol,
)

BTC = Symbol("BTCUSD")


class MinimalSocket(asyncio.Protocol):
    """A minimal WebSocket client: the handshake, then each text frame noted with the moment its
    bytes reached the process (no task per message, so the clients' own cost stays small)."""

    def __init__(self, host: str, path: str, key: str) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            f"Authorization: Bearer {key}\r\n\r\n"
        ).encode()
        self.buffer = b""
        self.upgraded = False
        self.frames: list[tuple[float, bytes]] = []
        self.arrived = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()  # the wall clock: the log's recorded_at is compared with it
        self.buffer += data
        if not self.upgraded:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            assert head.startswith(b"HTTP/1.1 101"), head
            self.upgraded, self.buffer = True, rest
        while len(self.buffer) >= 2:
            opcode, length, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                length, at = int.from_bytes(self.buffer[2:4]), 4
            elif length == 127:
                length, at = int.from_bytes(self.buffer[2:10]), 10
            if len(self.buffer) < at + length:
                return
            payload, self.buffer = self.buffer[at : at + length], self.buffer[at + length :]
            if opcode == 0x9:
                self.send(payload, opcode=0xA)  # pong
            elif opcode == 0x1:
                self.frames.append((now, payload))
                self.arrived.set()

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        """A masked frame (client frames must be)."""
        assert self.transport is not None
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    async def next_frame(self) -> tuple[float, bytes]:
        """The next text frame and when it arrived."""
        while not self.frames:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 60)
        return self.frames.pop(0)

    async def next_text(self) -> bytes:
        return (await self.next_frame())[1]


class _Message(msgspec.Struct):
    type: str


class _Fill(msgspec.Struct):
    fill_id: str


class _Executed(msgspec.Struct):
    type: str
    event: _Fill


class _Relayed(msgspec.Struct):
    data: _Fill
    recorded_at: datetime
    """When the log appended the fill (``clock_timestamp()`` at the insert)."""


class _Notified(msgspec.Struct):
    details: dict[str, str]


class _Notification(msgspec.Struct):
    account_id: str
    notification: _Notified


_message = msgspec.json.Decoder(_Message)
_notification = msgspec.json.Decoder(_Notification)
_executed = msgspec.json.Decoder(_Executed)
_relayed = msgspec.json.Decoder(_Relayed)


def message_type(payload: bytes) -> str:
    """A socket message's ``type``."""
    return _message.decode(payload).type


def executed(payload: bytes) -> str:
    """The fill id of a ``trade_executed`` message."""
    return _executed.decode(payload).event.fill_id


def notified_fill(payload: bytes) -> tuple[str, str]:
    """The account and the ``fill_id`` detail of a ``notification`` message."""
    message = _notification.decode(payload)
    return message.account_id, message.notification.details["fill_id"]


def relayed_fill(payload: bytes) -> tuple[str, datetime]:
    """The fill id of a relayed ``order_filled`` envelope, and when the log appended it."""
    envelope = _relayed.decode(payload)
    return envelope.data.fill_id, envelope.recorded_at


def fill_report(account: str, order: str, n: int, quantity: int) -> Envelope[OrderFillReported]:
    """The ``n``-th fill of one unit of ``order`` (of ``quantity``), as execution reports it."""
    now = datetime.now(UTC)
    report = OrderFillReported(
        report_id=f"{order}.fill.{n}",
        account_id=AccountId(account),
        order_id=OrderId(order),
        ts=now,
        symbol=BTC,
        side=OrderSide.BUY,
        price=Decimal(100),
        quantity=Decimal(1),
        fee=Decimal(0),
        liquidity=Liquidity.MAKER,
        reference_price=Decimal(100),
        touch_price=Decimal(100),
        spread_cost=Decimal(0),
        slippage=Decimal(0),
        slippage_bps=Decimal(0),
        models=ExecutionModels(),
        remaining=Decimal(quantity - n),
    )
    return Envelope(
        event_id=EventId(report.report_id),
        stream_id=StreamId(f"order-{order}"),
        stream_version=n,
        occurred_at=now,
        correlation_id=CorrelationId("bench"),
        actor=Actor("execution"),
        data=report,
    )
