"""resolve_servers: configured URLs win, else the embedded servers start and stop with the block."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import asyncpg
import nats
import pytest

from papertape.common.servers import resolve_nats, resolve_postgres, resolve_servers
from papertape.common.servers.processes import accepts_connections


def test_configured_urls_win_and_start_nothing() -> None:
    env = {"NATS_URL": "nats://127.0.0.1:1", "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    with ExitStack() as stack:
        assert resolve_nats(stack, env=env).source == "environment"
        assert resolve_postgres(stack, env=env).url == env["DATABASE_URL"]


def test_an_empty_url_counts_as_unset() -> None:
    with ExitStack() as stack:
        assert resolve_nats(stack, env={"NATS_URL": ""}).source == "embedded"


@pytest.mark.integration
async def test_without_urls_both_embedded_servers_run_inside_the_block(
    server_data_dir: Path,
) -> None:
    with resolve_servers(data_dir=server_data_dir, durable=False, env={}) as urls:
        assert (urls.nats_source, urls.database_source) == ("embedded", "embedded")
        nc = await nats.connect(urls.nats_url)
        assert nc.is_connected
        await nc.close()
        conn = await asyncpg.connect(urls.database_url)
        assert await conn.fetchval("SELECT 2") == 2
        await conn.close()
    assert (server_data_dir / "nats" / "jetstream").is_dir()
    assert (server_data_dir / "postgres" / "data" / "PG_VERSION").is_file()
    nats_port = int(urls.nats_url.rsplit(":", 1)[1])
    assert not accepts_connections("127.0.0.1", nats_port)
