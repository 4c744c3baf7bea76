"""Apply the event log's versioned SQL migrations: in order, once, under an advisory lock."""

from __future__ import annotations

from importlib import resources

import asyncpg

# Advisory locks are per database, which is the scope of a migration run.
_LOCK_KEY = 0x7A_7E_E7_01


def available_migrations() -> list[tuple[str, str]]:
    """(name, SQL) of every migration shipped with the package, oldest first."""
    folder = resources.files(__package__ or "papertape.common.eventlog.migrations")
    return sorted(
        (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


async def apply_migrations(dsn: str) -> list[str]:
    """Apply the migrations this database lacks; returns their names (empty when up to date)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _apply_pending(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection) -> list[str]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
    )
    done = {row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations")}
    applied: list[str] = []
    for name, script in available_migrations():
        if name in done:
            continue
        async with conn.transaction():
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
        applied.append(name)
    return applied
