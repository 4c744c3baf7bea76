"""EmbeddedNats: a real nats-server with JetStream, temporary or persistent."""

from __future__ import annotations

import os
from pathlib import Path

import nats
import psutil
import pytest

from papertape.common.servers import EmbeddedNats
from papertape.common.servers.processes import accepts_connections

pytestmark = pytest.mark.integration


async def _publish_and_fetch(url: str, stream: str, subject: str, payload: bytes) -> bytes:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[subject])
        ack = await js.publish(subject, payload)
        assert ack.stream == stream
        sub = await js.pull_subscribe(subject, durable="reader")
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.ack()
        return msg.data
    finally:
        await nc.close()


async def test_embedded_nats_serves_jetstream_on_loopback() -> None:
    with EmbeddedNats() as server:
        assert server.url.startswith("nats://127.0.0.1:")
        assert await _publish_and_fetch(server.url, "ORDERS", "orders.new", b"buy 1") == b"buy 1"


def test_stopping_embedded_nats_closes_its_port() -> None:
    server = EmbeddedNats().start()
    port = server.port
    server.stop()
    assert not accepts_connections("127.0.0.1", port)


async def test_persistent_embedded_nats_keeps_streams_across_restarts(
    server_data_dir: Path,
) -> None:
    with EmbeddedNats(server_data_dir) as first:
        await _publish_and_fetch(first.url, "FILLS", "fills.new", b"fill 1")
    with EmbeddedNats(server_data_dir) as second:
        nc = await nats.connect(second.url)
        try:
            info = await nc.jetstream().stream_info("FILLS")
        finally:
            await nc.close()
    assert info.state.messages == 1


def test_embedded_nats_stops_a_server_left_running_by_a_killed_run(server_data_dir: Path) -> None:
    orphan = EmbeddedNats(server_data_dir).start()
    orphan_pid = _pid_in(server_data_dir / "nats-server.pid")
    with EmbeddedNats(server_data_dir):
        assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == "zombie"
    orphan.stop()


def test_embedded_nats_ignores_a_stale_pid_file(server_data_dir: Path) -> None:
    (server_data_dir / "nats-server.pid").write_text(
        f"{os.getpid()}\n"
    )  # alive, but not a nats-server
    with EmbeddedNats(server_data_dir) as server:
        assert accepts_connections("127.0.0.1", server.port)
        assert _pid_in(server_data_dir / "nats-server.pid") != os.getpid()


def _pid_in(pid_file: Path) -> int:
    return int(pid_file.read_text().split()[0])
