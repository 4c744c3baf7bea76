"""Databases on a PostgreSQL server: the DSN of one, and creating and dropping them."""

from __future__ import annotations

import asyncpg


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointed at database ``name`` (query parameters kept)."""
    head, sep, query = server_url.partition("?")
    return f"{head.rpartition('/')[0]}/{name}{sep}{query}"


async def create_database(server_url: str, name: str, *, exist_ok: bool = False) -> str:
    """Create database ``name`` (unless it exists and ``exist_ok``); returns its DSN."""
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not (exists and exist_ok):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name``, closing its sessions."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
