"""Bar history in PostgreSQL: its own versioned migrations, idempotent upserts, OHLC queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any

import asyncpg

from papertape.common.events.market import BarClosed, Timeframe
from papertape.common.ids import Symbol

# Advisory locks are per database; this key is the market-data migrations' own.
_LOCK_KEY = 0x6D_64_62_01
_MIGRATIONS_TABLE = "marketdata_schema_migrations"

_UPSERT = """
INSERT INTO md_bars (symbol, timeframe, start, "end", open, high, low, close, volume, source,
                     in_session)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (symbol, timeframe, start) DO UPDATE SET
    "end" = EXCLUDED."end", open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
    close = EXCLUDED.close, volume = EXCLUDED.volume, source = EXCLUDED.source,
    in_session = EXCLUDED.in_session
"""

_SELECT = """
SELECT * FROM (
    SELECT symbol, timeframe, start, "end", open, high, low, close, volume, source, in_session
    FROM md_bars
    WHERE symbol = $1 AND timeframe = $2 AND start >= $3 AND start < $4
    ORDER BY start DESC LIMIT $5
) newest ORDER BY start
"""

_FAR_PAST = datetime.fromisoformat("1900-01-01T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


def available_migrations() -> list[tuple[str, str]]:
    """(name, SQL) of every bar-store migration, oldest first."""
    folder = resources.files("papertape.marketdata.migrations")
    return sorted(
        (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


async def apply_migrations(dsn: str) -> list[str]:
    """Apply the migrations this database lacks, under an advisory lock; returns their names."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_MIGRATIONS_TABLE} ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
            rows = await conn.fetch(f"SELECT name FROM {_MIGRATIONS_TABLE}")
            done = {row["name"] for row in rows}
            applied: list[str] = []
            for name, script in available_migrations():
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(script)
                    await conn.execute(f"INSERT INTO {_MIGRATIONS_TABLE} (name) VALUES ($1)", name)
                applied.append(name)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


def _row(bar: BarClosed) -> tuple[Any, ...]:
    return (
        bar.symbol,
        bar.timeframe.value,
        bar.start,
        bar.end,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.source,
        bar.in_session,
    )


def _bar(record: asyncpg.Record) -> BarClosed:
    return BarClosed(
        symbol=Symbol(record["symbol"]),
        timeframe=Timeframe(record["timeframe"]),
        open=record["open"],
        high=record["high"],
        low=record["low"],
        close=record["close"],
        volume=record["volume"],
        start=record["start"],
        end=record["end"],
        source=record["source"],
        in_session=record["in_session"],
    )


class BarStore:
    """Bars kept in the ``md_bars`` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, *, max_size: int = 4) -> BarStore:
        """Migrate the database, then connect a small pool."""
        await apply_migrations(dsn)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def upsert(self, bars: Sequence[BarClosed]) -> None:
        """Store bars; storing the same bar again changes nothing."""
        if bars:
            await self._pool.executemany(_UPSERT, [_row(bar) for bar in bars])

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[BarClosed]:
        """The newest ``limit`` bars whose start lies in [start, end), oldest first."""
        records = await self._pool.fetch(
            _SELECT,
            symbol,
            timeframe.value,
            start or _FAR_PAST,
            end or _FAR_FUTURE,
            limit,
        )
        return [_bar(record) for record in records]
