"""Recorded quotes for a backtest that matches them as the paper venue did (``--quotes``).

The file is the one a market-data replay read: CSV or Parquet with ``ts`` (or another time
column, as for bars), ``bid``, ``ask`` and optionally ``symbol``, ``bid_size``, ``ask_size``,
``last``, ``volume``. A row that is not a quote is refused naming the file, the row and the
field.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from papertape.cli.backtests.bars import BadBars, Selection, row_number, row_time, rows
from papertape.contract.events.market import QuoteReceived
from papertape.contract.ids import Symbol

REQUIRED = ("bid", "ask")
OPTIONAL = ("bid_size", "ask_size", "last", "volume")


def _quote(row: dict[str, Any], symbol: str, where: str) -> QuoteReceived:
    ts = row_time(row, where, "ts")
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise BadBars(f"{where}: field {name!r}: missing")
    values = {
        name: row_number(row, name, where)
        for name in (*REQUIRED, *OPTIONAL)
        if row.get(name) not in (None, "")
    }
    zero = Decimal(0)
    try:
        return QuoteReceived(
            symbol=Symbol(symbol),
            bid=values["bid"],
            ask=values["ask"],
            bid_size=values.get("bid_size", zero),
            ask_size=values.get("ask_size", zero),
            last=values.get("last"),
            volume=values.get("volume", zero),
            ts_event=ts,
            ts_init=ts,
            source="backtest",
        )
    except msgspec.ValidationError as error:
        raise BadBars(f"{where}: {error}") from error


def file_quotes(path: Path, selection: Selection, symbol: str | None = None) -> list[QuoteReceived]:
    """The quotes of one file at or after the selection's start, of its symbols, in time order
    (the end is left open: orders placed on the last bar still fill on the quotes after it)."""
    default = symbol or path.stem.upper()
    found: list[QuoteReceived] = []
    for number, row in enumerate(rows(path), start=2):
        name = str(row.get("symbol") or default)
        quote = _quote(row, name, f"{path}: row {number}")
        if selection.symbols and name not in selection.symbols:
            continue
        if selection.start is None or quote.ts_event >= selection.start:
            found.append(quote)
    found.sort(key=lambda q: (q.ts_event, q.symbol))
    return found
