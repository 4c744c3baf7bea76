"""File replay of quotes and bars from CSV and Parquet."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.marketdata.feeds.replay import ReplayFeed, parse_time

QUOTES_CSV = """ts,symbol,bid,ask,bid_size,ask_size,last,volume
2024-01-02T14:30:00Z,AAPL,185.61,185.63,300,400,185.62,10
2024-01-02T14:30:01Z,AAPL,185.60,185.64,100,200,,0
2024-01-02T14:30:02Z,MSFT,370.80,370.90,100,100,370.85,5
"""


def test_a_quotes_csv_replays_every_row_with_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(QUOTES_CSV)
    quotes = list(ReplayFeed(path).ticks())
    assert [type(q) for q in quotes] == [QuoteReceived] * 3
    first = quotes[0]
    assert isinstance(first, QuoteReceived)
    assert (first.symbol, first.bid, first.ask, first.last) == (
        "AAPL",
        Decimal("185.61"),
        Decimal("185.63"),
        Decimal("185.62"),
    )
    assert first.ts_event == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert first.source == "replay"
    second = quotes[1]
    assert isinstance(second, QuoteReceived)
    assert second.bid == Decimal("185.60")
    assert second.last is None


def test_from_and_to_bound_the_replay(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(QUOTES_CSV)
    feed = ReplayFeed(
        path, start=parse_time("2024-01-02T14:30:01Z"), end=parse_time("2024-01-02T14:30:02Z")
    )
    [only] = list(feed.ticks())
    assert isinstance(only, QuoteReceived)
    assert only.ts_event == datetime(2024, 1, 2, 14, 30, 1, tzinfo=UTC)


def test_a_parquet_file_of_bars_replays_as_bars(tmp_path: Path) -> None:
    rows: dict[str, Any] = {
        "timestamp": pa.array(
            # naive on purpose: a file without a time zone is read as UTC
            [
                datetime.fromisoformat("2024-01-02T14:30"),
                datetime.fromisoformat("2024-01-02T14:35"),
            ],
            pa.timestamp("us"),
        ),
        "Open": ["100.10", "100.50"],
        "High": ["101.00", "100.90"],
        "Low": ["99.90", "100.20"],
        "Close": ["100.50", "100.30"],
        "Volume": [1200, 800],
        "timeframe": ["5m", "5m"],
    }
    path = tmp_path / "spy.parquet"
    pq.write_table(pa.table(rows), path)
    bars = list(ReplayFeed(path).ticks())
    assert all(isinstance(b, BarClosed) for b in bars)
    first = bars[0]
    assert isinstance(first, BarClosed)
    assert (first.symbol, first.timeframe, first.open, first.close, first.volume) == (
        "SPY",
        Timeframe.M5,
        Decimal("100.10"),
        Decimal("100.50"),
        Decimal(1200),
    )
    assert first.start == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert first.end == datetime(2024, 1, 2, 14, 35, tzinfo=UTC)


def test_epoch_seconds_and_milliseconds_are_both_understood() -> None:
    moment = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert parse_time("1704205800") == moment
    assert parse_time(1704205800000) == moment
    assert parse_time("2024-01-02 14:30:00") == moment


async def test_a_sped_up_replay_yields_the_same_ticks_as_an_unpaced_one(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(QUOTES_CSV)
    paced = [tick async for tick in ReplayFeed(path, speed=1000.0).stream()]
    assert paced == list(ReplayFeed(path).ticks())
