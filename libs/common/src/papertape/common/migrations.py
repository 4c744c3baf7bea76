"""Versioned SQL migrations (``NNNN_name.sql`` files in a package), applied in order, once.

Each owner of tables has its own set and its own record table, so the event log and a
service's store migrate independently; an advisory lock per set makes a concurrent or
repeated run safe.
"""

from __future__ import annotations

from importlib import resources

import asyncpg
import msgspec


class MigrationSet(msgspec.Struct, frozen=True, kw_only=True):
    """Where the SQL files are, where applied names are recorded, and the lock that guards."""

    package: str
    table: str
    lock_key: int

    def available(self) -> list[tuple[str, str]]:
        """(name, SQL) of every migration in the package, oldest first."""
        folder = resources.files(self.package)
        return sorted(
            (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
            for entry in folder.iterdir()
            if entry.name.endswith(".sql")
        )

    async def apply(self, dsn: str) -> list[str]:
        """Apply the migrations this database lacks; returns their names (empty when none)."""
        conn = await asyncpg.connect(dsn)
        try:
            # Advisory locks are per database, which is the scope of a migration run.
            await conn.execute("SELECT pg_advisory_lock($1)", self.lock_key)
            try:
                return await self._apply_pending(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)
        finally:
            await conn.close()

    async def _apply_pending(self, conn: asyncpg.Connection) -> list[str]:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        done = {row["name"] for row in await conn.fetch(f"SELECT name FROM {self.table}")}
        applied: list[str] = []
        for name, script in self.available():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute(f"INSERT INTO {self.table} (name) VALUES ($1)", name)
            applied.append(name)
        return applied
