"""Bar history in PostgreSQL: migrations, idempotent upserts, OHLC queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from papertape.common.eventlog.migrations import apply_migrations as apply_log_migrations
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.barstore import BarStore, apply_migrations

pytestmark = pytest.mark.integration
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def bar(minute: int, close: str = "100.10", symbol: str = "AAPL") -> BarClosed:
    start = T0 + timedelta(minutes=minute)
    return BarClosed(
        symbol=Symbol(symbol),
        timeframe=Timeframe.M1,
        open=Decimal("100.00"),
        high=Decimal("101.00"),
        low=Decimal("99.50"),
        close=Decimal(close),
        volume=Decimal("12.5"),
        start=start,
        end=start + timedelta(minutes=1),
        source="test",
    )


async def test_migrations_apply_once(fresh_database: str) -> None:
    assert await apply_migrations(fresh_database) == ["0001_bars", "0002_bar_role"]
    assert await apply_migrations(fresh_database) == []


async def test_storing_the_same_bar_twice_keeps_one_row(fresh_database: str) -> None:
    store = await BarStore.open(fresh_database)
    try:
        await store.upsert([bar(0)])
        await store.upsert([bar(0)])
        assert await store.bars("AAPL", Timeframe.M1) == [bar(0)]
    finally:
        await store.close()


async def test_history_is_oldest_first_within_the_range_and_limit(fresh_database: str) -> None:
    store = await BarStore.open(fresh_database)
    try:
        await store.upsert(
            [bar(m, close=f"100.{m:02d}") for m in range(10)] + [bar(0, symbol="MSFT")]
        )
        ranged = await store.bars(
            "AAPL", Timeframe.M1, T0 + timedelta(minutes=2), T0 + timedelta(minutes=5)
        )
        assert [b.start.minute for b in ranged] == [32, 33, 34]
        newest = await store.bars("AAPL", Timeframe.M1, limit=3)
        assert [b.close for b in newest] == [
            Decimal("100.07"),
            Decimal("100.08"),
            Decimal("100.09"),
        ]
        assert await store.bars("AAPL", Timeframe.M5) == []
    finally:
        await store.close()


async def test_the_bar_stores_own_login_keeps_bars_and_cannot_see_the_event_log(
    fresh_database: str,
) -> None:
    await apply_log_migrations(fresh_database)
    store = await BarStore.open(fresh_database, role="papertape_bars")
    try:
        await store.upsert([bar(0)])
        assert await store.bars("AAPL", Timeframe.M1) == [bar(0)]
    finally:
        await store.close()
    conn = await asyncpg.connect(fresh_database, user="papertape_bars")
    try:
        assert await conn.fetchval("SELECT current_user") == "papertape_bars"
        for statement in (
            "SELECT count(*) FROM events",
            "SELECT count(*) FROM snapshots",
            "SELECT count(*) FROM checkpoints",
            "DELETE FROM md_bars",
            "SET ROLE papertape_service",
        ):
            with pytest.raises(asyncpg.PostgresError) as refusal:
                await conn.execute(statement)
            assert refusal.value.sqlstate == "42501", statement
    finally:
        await conn.close()
