"""File replay: quotes or OHLCV bars from CSV or Parquet, between two times, at a chosen speed.

Columns (case-insensitive): ``ts`` (or ``timestamp``/``time``/``start``), ``symbol`` (else the
feed's default symbol), then either ``bid, ask`` [``bid_size, ask_size, last, volume``] for
quotes or ``open, high, low, close`` [``volume, timeframe``] for bars. Times are ISO 8601 (naive
means UTC) or epoch seconds / milliseconds. Prices are read as text so no digit is lost.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import Tick

if TYPE_CHECKING:
    from papertape.marketdata.settings import MarketDataSettings

SOURCE = "replay"
QUOTES = "quotes"
BARS = "bars"
_TIME_COLUMNS = ("ts", "timestamp", "time", "datetime", "date", "start", "ts_event")


def parse_time(value: Any) -> datetime:
    """A timezone-aware UTC time from an ISO string, an epoch number or a datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        number = float(value)
        moment = datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _optional(row: Mapping[str, Any], name: str) -> Decimal | None:
    value = row.get(name)
    return None if value is None or value == "" else _decimal(value)


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV or Parquet file as dicts with lower-case keys (CSV values as text)."""
    # Imported by name: pyarrow ships no type information.
    pa: Any = importlib.import_module("pyarrow")
    pa_csv: Any = importlib.import_module("pyarrow.csv")
    pq: Any = importlib.import_module("pyarrow.parquet")

    if path.suffix.lower() in (".parquet", ".pq"):
        table = pq.read_table(path)
    else:
        with path.open(newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), [])
        text = pa_csv.ConvertOptions(column_types={name: pa.string() for name in header})
        table = pa_csv.read_csv(path, convert_options=text)
    for batch in table.to_batches():
        for row in batch.to_pylist():
            yield {str(key).lower(): value for key, value in row.items()}


def tick_of(row: Mapping[str, Any], kind: str, default_symbol: str, source: str) -> Tick:
    """One row as a quote or a bar."""
    time_column = next((c for c in _TIME_COLUMNS if row.get(c) not in (None, "")), None)
    if time_column is None:
        raise ValueError(f"row has no time column ({', '.join(_TIME_COLUMNS)}): {dict(row)}")
    ts = parse_time(row[time_column])
    symbol = Symbol(str(row.get("symbol") or default_symbol))
    if kind == QUOTES:
        return QuoteReceived(
            symbol=symbol,
            bid=_decimal(row["bid"]),
            ask=_decimal(row["ask"]),
            bid_size=_optional(row, "bid_size") or Decimal(0),
            ask_size=_optional(row, "ask_size") or Decimal(0),
            last=_optional(row, "last"),
            volume=_optional(row, "volume") or Decimal(0),
            ts_event=ts,
            ts_init=ts,
            source=source,
        )
    timeframe = Timeframe(str(row.get("timeframe") or "1m"))
    return BarClosed(
        symbol=symbol,
        timeframe=timeframe,
        open=_decimal(row["open"]),
        high=_decimal(row["high"]),
        low=_decimal(row["low"]),
        close=_decimal(row["close"]),
        volume=_optional(row, "volume") or Decimal(0),
        start=ts,
        end=ts + timedelta(seconds=TIMEFRAME_SECONDS[timeframe]),
        source=source,
    )


def _kind_of(row: Mapping[str, Any]) -> str:
    if "bid" in row and "ask" in row:
        return QUOTES
    if {"open", "high", "low", "close"} <= row.keys():
        return BARS
    raise ValueError(f"cannot tell quotes from bars by the columns {sorted(row)}")


class ReplayFeed:
    """Replays a recorded file; ``speed`` 1 is real time, 10 ten times faster, 0 unpaced."""

    def __init__(
        self,
        path: Path | str,
        *,
        kind: str = "auto",
        speed: float = 0.0,
        start: datetime | None = None,
        end: datetime | None = None,
        symbol: str = "",
        name: str = SOURCE,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.speed = speed
        self.start = start
        self.end = end
        self.symbol = symbol or self.path.stem.upper()
        self.name = name

    @classmethod
    def from_settings(cls, settings: MarketDataSettings) -> ReplayFeed:
        if not settings.replay_path:
            raise ValueError("the replay feed needs PAPERTAPE_REPLAY_PATH")
        return cls(
            settings.replay_path,
            kind=settings.replay_kind,
            speed=settings.replay_speed,
            start=parse_time(settings.replay_from) if settings.replay_from else None,
            end=parse_time(settings.replay_to) if settings.replay_to else None,
        )

    def ticks(self) -> Iterator[Tick]:
        """Every tick of the file within [start, end), unpaced."""
        kind = self.kind
        for row in read_rows(self.path):
            if kind == "auto":
                kind = _kind_of(row)
            tick = tick_of(row, kind, self.symbol, self.name)
            ts = tick.start if isinstance(tick, BarClosed) else tick.ts_event
            if self.start is not None and ts < self.start:
                continue
            if self.end is not None and ts >= self.end:
                continue
            yield tick

    async def stream(self) -> AsyncIterator[Tick]:
        """The file's ticks, spaced as recorded divided by ``speed``."""
        loop = asyncio.get_running_loop()
        first: datetime | None = None
        began = loop.time()
        for count, tick in enumerate(self.ticks(), start=1):
            ts = tick.end if isinstance(tick, BarClosed) else tick.ts_event
            if self.speed > 0:
                first = first or ts
                delay = began + (ts - first).total_seconds() / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif count % 256 == 0:
                await asyncio.sleep(0)  # as fast as possible, yet fair to the event loop
            yield tick
