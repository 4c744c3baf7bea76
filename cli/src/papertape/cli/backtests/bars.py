"""Recorded bars for a backtest: CSV or Parquet files, or the bar history in PostgreSQL.

A file has the columns ``time`` (or ``ts``/``timestamp``/``start``/``date``: the bar's start,
ISO 8601 with naive meaning UTC, or epoch seconds/milliseconds), ``open``, ``high``, ``low``,
``close``, ``volume``, and ``symbol`` when it holds several symbols (else the symbol given, or
the file's name). Prices are read as text so no digit is lost. A row that is not a bar (a
missing column, a price that is not a number, high below low) is refused naming the file, the
row and the field.
"""

from __future__ import annotations

import csv
import heapq
import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.ids import Symbol

SECONDS = {Timeframe.M1: 60, Timeframe.M5: 300, Timeframe.M15: 900, Timeframe.H1: 3600}
SECONDS[Timeframe.D1] = 86_400
TIME_COLUMNS = ("time", "ts", "timestamp", "start", "date", "datetime")
PRICES = ("open", "high", "low", "close", "volume")


class BadBars(ValueError):
    """Input that is not a bar; the message names the file, row and field."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which bars: symbols (empty: all), a timeframe and a half-open date range."""

    symbols: frozenset[str] = frozenset()
    timeframe: Timeframe = Timeframe.M1
    start: datetime | None = None
    end: datetime | None = None

    def wants(self, symbol: str, start: datetime) -> bool:
        if self.symbols and symbol not in self.symbols:
            return False
        if self.start is not None and start < self.start:
            return False
        return self.end is None or start < self.end


def parse_time(value: Any) -> datetime:
    """A timezone-aware UTC time from an ISO string, epoch seconds/milliseconds or a datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
    else:
        text = str(value).strip()
        try:
            return parse_time(float(text))
        except ValueError:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def row_time(row: Mapping[str, Any], where: str, missing: str) -> datetime:
    """A row's time, from the first time column it fills (``missing`` names it if none)."""
    key = next((c for c in TIME_COLUMNS if row.get(c) not in (None, "")), None)
    if key is None:
        raise BadBars(f"{where}: field {missing!r}: missing")
    try:
        return parse_time(row[key])
    except (ValueError, OverflowError) as error:
        raise BadBars(f"{where}: field {key!r}: {error}") from error


def row_number(row: Mapping[str, Any], name: str, where: str) -> Decimal:
    """A row's field as a finite Decimal (read from text, so no digit is lost)."""
    raw = row.get(name)
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as error:
        raise BadBars(f"{where}: field {name!r}: not a number: {raw!r}") from error
    if not value.is_finite():
        raise BadBars(f"{where}: field {name!r}: not finite: {raw!r}")
    return value


def _bar(row: Mapping[str, Any], symbol: str, selection: Selection, where: str) -> BarClosed:
    width = timedelta(seconds=SECONDS[selection.timeframe])
    start = row_time(row, where, "time")
    values = {name: row_number(row, name, where) for name in PRICES}
    if not values["low"] <= min(values["open"], values["close"]) <= values["high"]:
        raise BadBars(f"{where}: field 'high'/'low': the bar's range does not hold its prices")
    try:
        return BarClosed(
            symbol=Symbol(symbol),
            timeframe=selection.timeframe,
            open=values["open"],
            high=values["high"],
            low=values["low"],
            close=values["close"],
            volume=values["volume"],
            start=start,
            end=start + width,
            source="backtest",
        )
    except msgspec.ValidationError as error:
        raise BadBars(f"{where}: {error}") from error


def rows(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix.lower() in (".parquet", ".pq"):
        # Imported by name, only when a Parquet file is read: pyarrow ships no type information.
        parquet: Any = importlib.import_module("pyarrow.parquet")
        table = parquet.read_table(path)
        for batch in table.to_batches():
            for row in batch.to_pylist():
                yield {str(k).lower(): v for k, v in row.items()}
        return
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            yield {str(k).strip().lower(): v for k, v in row.items()}


def file_bars(path: Path, selection: Selection, symbol: str | None = None) -> list[BarClosed]:
    """The selected bars of one file, in time order."""
    default = symbol or path.stem.upper()
    found: list[BarClosed] = []
    for number, row in enumerate(rows(path), start=2):
        name = str(row.get("symbol") or default)
        bar = _bar(row, name, selection, f"{path}: row {number}")
        if selection.wants(name, bar.start):
            found.append(bar)
    found.sort(key=lambda b: (b.start, b.symbol))
    return found


def merged(series: Iterable[list[BarClosed]]) -> list[BarClosed]:
    """Several files' bars as one stream in time order (then symbol)."""
    return list(heapq.merge(*series, key=lambda b: (b.end, b.symbol)))


async def stored_bars(url: str, selection: Selection) -> list[BarClosed]:
    """The selected bars of market-data's bar history (table ``md_bars``)."""
    query = (
        "SELECT symbol, start, open, high, low, close, volume FROM md_bars WHERE timeframe = $1 "
        "AND ($2::text[] IS NULL OR symbol = ANY($2)) AND ($3::timestamptz IS NULL OR start >= $3)"
        ' AND ($4::timestamptz IS NULL OR start < $4) ORDER BY "end", symbol'
    )
    symbols = sorted(selection.symbols) or None
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            query, str(selection.timeframe), symbols, selection.start, selection.end
        )
    finally:
        await connection.close()
    return [
        _bar(dict(row), row["symbol"], selection, f"md_bars {row['symbol']} {row['start']}")
        for row in rows
    ]
