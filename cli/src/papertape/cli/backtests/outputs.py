"""What a backtest leaves beside its log: the report, trades and equity as CSV, the charts
(HTML and PNG)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from papertape.cli.backtests.charts import chart_html
from papertape.cli.backtests.logs import write_log
from papertape.cli.backtests.pictures import chart_png
from papertape.contract.codec import to_builtins
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.reports import AccountReport, EquityPoint
from papertape.trading.account.reports import trades_csv

EQUITY_COLUMNS = ("ts", "equity", "cash", "exposure", "flow")


def equity_csv(curve: Sequence[EquityPoint]) -> str:
    """The equity curve as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EQUITY_COLUMNS)
    for point in curve:
        row = msgspec.to_builtins(point)
        writer.writerow(row[c] for c in EQUITY_COLUMNS)
    return out.getvalue()


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """The files a backtest wrote."""

    log: str
    events: int
    report: str
    trades: str
    equity: str
    chart: str
    picture: str


def write_outputs(
    directory: Path, title: str, report: AccountReport, envelopes: Sequence[Envelope[Any]]
) -> Written:
    """Write every output into ``directory`` (created when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        name: directory / file
        for name, file in (
            ("log", "log.jsonl"),
            ("report", "report.json"),
            ("trades", "trades.csv"),
            ("equity", "equity.csv"),
            ("chart", "chart.html"),
            ("picture", "chart.png"),
        )
    }
    events = write_log(envelopes, paths["log"])
    paths["report"].write_bytes(msgspec.json.format(msgspec.json.encode(to_builtins(report))))
    paths["trades"].write_text(trades_csv(report.closed_trades))
    paths["equity"].write_text(equity_csv(report.equity_curve))
    paths["chart"].write_text(chart_html(title, report.equity_curve))
    paths["picture"].write_bytes(chart_png(report.equity_curve))
    return Written(events=events, **{name: str(path) for name, path in paths.items()})
