"""Bar history in PostgreSQL: its own versioned migrations, idempotent upserts, OHLC queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from papertape.common.migrations import MigrationSet
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.ids import Symbol

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

_LAST = """
SELECT DISTINCT ON (symbol)
    symbol, timeframe, start, "end", open, high, low, close, volume, source, in_session
FROM md_bars
WHERE symbol = ANY($1::text[]) AND timeframe = $2 AND source = $3
ORDER BY symbol, start DESC
"""

_FAR_PAST = datetime.fromisoformat("1900-01-01T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


BAR_STORE = MigrationSet(
    package="papertape.marketdata.migrations", table=_MIGRATIONS_TABLE, lock_key=_LOCK_KEY
)


async def apply_migrations(dsn: str) -> list[str]:
    """Apply the bar store's migrations this database lacks; returns their names."""
    return await BAR_STORE.apply(dsn)


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
    async def open(cls, dsn: str, *, max_size: int = 4, role: str | None = None) -> BarStore:
        """Migrate the database (as the DSN's login), then connect a small pool as ``role``
        (the bar store's own, which reads and writes bars and cannot see the event log)."""
        await apply_migrations(dsn)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, user=role)
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

    async def last_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, source: str
    ) -> dict[Symbol, BarClosed]:
        """Each symbol's newest stored bar of ``timeframe`` from ``source`` (if it has one)."""
        records = await self._pool.fetch(_LAST, list(symbols), timeframe.value, source)
        return {Symbol(record["symbol"]): _bar(record) for record in records}
