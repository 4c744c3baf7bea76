"""EmbeddedPostgres: a real PostgreSQL on loopback TCP, temporary or persistent, even as root."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import asyncpg
import psutil
import pytest

from papertape.common.servers import EmbeddedPostgres
from papertape.common.servers.postgres_account import SYSTEM_USER
from papertape.common.servers.processes import accepts_connections

pytestmark = pytest.mark.integration


async def _scalar(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_embedded_postgres_creates_inserts_and_selects() -> None:
    with EmbeddedPostgres(durable=False) as server:
        conn = await asyncpg.connect(server.url())
        try:
            await conn.execute("CREATE TABLE fills (id int PRIMARY KEY, price numeric)")
            await conn.execute("INSERT INTO fills VALUES (1, 101.25)")
            assert str(await conn.fetchval("SELECT price FROM fills WHERE id = 1")) == "101.25"
        finally:
            await conn.close()


async def test_embedded_postgres_allows_create_database() -> None:
    with EmbeddedPostgres(durable=False) as server:
        await _scalar(server.url(), "SELECT 1")
        conn = await asyncpg.connect(server.url())
        try:
            await conn.execute('CREATE DATABASE "ledger"')
        finally:
            await conn.close()
        assert await _scalar(server.url("ledger"), "SELECT current_database()") == "ledger"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs the system user")
def test_embedded_postgres_run_by_root_runs_as_the_system_user() -> None:
    with EmbeddedPostgres(durable=False) as server:
        postmaster = _postmaster(server)
        assert postmaster.username() == SYSTEM_USER


def test_stopping_embedded_postgres_closes_its_port() -> None:
    server = EmbeddedPostgres(durable=False).start()
    port = server.port
    server.stop()
    assert not accepts_connections("127.0.0.1", port)


async def test_persistent_embedded_postgres_keeps_data_across_restarts(
    server_data_dir: Path,
) -> None:
    with EmbeddedPostgres(server_data_dir, durable=False) as first:
        await _scalar(first.url(), "CREATE TABLE accounts (id text)")
        await _scalar(first.url(), "INSERT INTO accounts VALUES ('acc-1')")
    with EmbeddedPostgres(server_data_dir, durable=False) as second:
        assert await _scalar(second.url(), "SELECT id FROM accounts") == "acc-1"


async def test_embedded_postgres_restarts_after_its_postmaster_was_killed(
    server_data_dir: Path,
) -> None:
    killed = EmbeddedPostgres(server_data_dir, durable=False).start()
    postmaster = _postmaster(killed)
    postmaster.send_signal(signal.SIGKILL)
    postmaster.wait(10)
    assert (server_data_dir / "data" / "postmaster.pid").exists()  # stale, left behind
    with EmbeddedPostgres(server_data_dir, durable=False) as successor:
        assert await _scalar(successor.url(), "SELECT 1") == 1
    killed.stop()


async def test_embedded_postgres_stops_a_server_left_running_by_a_killed_run(
    server_data_dir: Path,
) -> None:
    orphan = EmbeddedPostgres(server_data_dir, durable=False).start()
    orphan_pid = _postmaster(orphan).pid
    with EmbeddedPostgres(server_data_dir, durable=False) as successor:
        assert await _scalar(successor.url(), "SELECT 1") == 1
        assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == "zombie"
    orphan.stop()


def _postmaster(server: EmbeddedPostgres) -> psutil.Process:
    assert server.pid is not None
    return psutil.Process(server.pid)
