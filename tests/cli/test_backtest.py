"""``papertape backtest`` on files, and its log through ``audit verify`` / ``audit replay``."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from papertape.cli.__main__ import main
from papertape.cli.backtests.bars import Selection, file_bars
from papertape.marketdata.barstore import BarStore, apply_migrations

SAMPLE = Path(__file__).parents[2] / "examples" / "AAPL-1m.csv"
ARGS = ["--strategy", "ma_crossover", "--param", "fast=5", "--param", "slow=20"]


def backtest(out: Path, *extra: str, data: Path = SAMPLE) -> int:
    return main(
        ["backtest", *ARGS, "--data", str(data), "--symbol", "AAPL", "-o", str(out), *extra]
    )


def test_a_backtest_writes_its_report_trades_equity_chart_and_a_log_that_audits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backtest(tmp_path / "run", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    trades = printed["report"]["closed_trades"]
    assert trades
    with (tmp_path / "run" / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["entry_price"] for r in rows] == [t["entry_price"] for t in trades]
    equity = (tmp_path / "run" / "equity.csv").read_text().splitlines()
    assert equity[0] == "ts,equity,cash,exposure,flow"
    assert len(equity) - 1 == len(printed["report"]["equity_curve"])
    assert "<svg" in (tmp_path / "run" / "chart.html").read_text()
    assert (tmp_path / "run" / "chart.png").read_bytes().startswith(b"\x89PNG")
    log = str(tmp_path / "run" / "log.jsonl")
    assert main(["audit", "verify", "--file", log, "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] is True
    assert verified["log"]["checked"] == printed["files"]["events"]
    assert main(["audit", "replay", "backtest", "--file", log, "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["summary"] == printed["report"]["summary"]


def test_the_same_backtest_writes_the_same_log_byte_for_byte(tmp_path: Path) -> None:
    assert backtest(tmp_path / "a") == 0
    assert backtest(tmp_path / "b") == 0
    first = (tmp_path / "a" / "log.jsonl").read_bytes()
    assert first == (tmp_path / "b" / "log.jsonl").read_bytes()
    assert first.count(b"\n") > 100


def test_a_changed_line_of_the_log_fails_audit_verify(tmp_path: Path) -> None:
    assert backtest(tmp_path / "run") == 0
    log = tmp_path / "run" / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"initial_cash":"100000"', b'"initial_cash":"900000"')
    log.write_bytes(b"".join(lines))
    assert main(["audit", "verify", "--file", str(log)]) == 1


def test_parquet_bars_give_the_same_trades_as_the_csv(tmp_path: Path) -> None:
    parquet = tmp_path / "AAPL.parquet"
    table = pa_csv.read_csv(
        SAMPLE, convert_options=pa_csv.ConvertOptions(column_types={"time": "string"})
    )
    pq.write_table(table, parquet)
    assert backtest(tmp_path / "csv") == 0
    assert backtest(tmp_path / "parquet", data=parquet) == 0
    csv_trades = (tmp_path / "csv" / "trades.csv").read_text()
    assert csv_trades.count("\n") > 1
    assert (tmp_path / "parquet" / "trades.csv").read_text() == csv_trades


def test_a_bar_that_is_not_a_number_is_refused_naming_the_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    lines = SAMPLE.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[4], "lots", 1)
    bad.write_text("\n".join(lines) + "\n")
    assert backtest(tmp_path / "run", data=bad) == 1
    error = capsys.readouterr().err
    assert "row 4" in error
    assert "'close'" in error


def test_a_user_strategy_class_is_loaded_by_its_import_path(tmp_path: Path) -> None:
    path = "papertape.trading.strategies.crossover:MovingAverageCrossover"
    argv = ["backtest", "--strategy", path, "--data", str(SAMPLE), "-o", str(tmp_path / "u")]
    assert main(argv) == 0
    assert main(["backtest", "--strategy", "nowhere:Nothing", "--data", str(SAMPLE)]) == 1


async def test_bars_from_the_bar_history_give_the_same_trades_as_the_file(
    tmp_path: Path, fresh_database: str
) -> None:
    await apply_migrations(fresh_database)
    store = await BarStore.open(fresh_database)
    try:
        await store.upsert(file_bars(SAMPLE, Selection(), "AAPL"))
    finally:
        await store.close()
    from_file = await asyncio.to_thread(backtest, tmp_path / "file")
    argv = ["backtest", *ARGS, "--from-database", "--database-url", fresh_database,
            "--symbol", "AAPL", "-o", str(tmp_path / "db")]  # fmt: skip
    assert from_file == 0
    assert await asyncio.to_thread(main, argv) == 0
    trades = (tmp_path / "file" / "trades.csv").read_text()
    assert trades.count("\n") > 1
    assert (tmp_path / "db" / "trades.csv").read_text() == trades


def write_open_quotes(path: Path) -> None:
    """One quote per sample bar, at its start and open price (no spread)."""
    lines = ["ts,symbol,bid,ask,last"]
    for bar in file_bars(SAMPLE, Selection(), "AAPL"):
        lines.append(f"{bar.start.isoformat()},AAPL,{bar.open},{bar.open},{bar.open}")
    path.write_text("\n".join(lines) + "\n")


def test_given_the_quotes_the_venue_fills_on_them_at_the_first_quote_after_the_signal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quotes = tmp_path / "quotes.csv"
    write_open_quotes(quotes)
    assert backtest(tmp_path / "bars", "--json") == 0
    on_bars = json.loads(capsys.readouterr().out)["report"]["closed_trades"][0]
    assert backtest(tmp_path / "quotes", "--quotes", str(quotes), "--json") == 0
    on_quotes = json.loads(capsys.readouterr().out)["report"]["closed_trades"][0]
    # The next bar's first quote is its open: the same price, at the bar's start, not its end.
    assert on_quotes["entry_price"] == on_bars["entry_price"]
    opened = datetime.fromisoformat(on_quotes["opened_at"])
    assert opened == datetime.fromisoformat(on_bars["opened_at"]) - timedelta(minutes=1)


def test_a_quote_that_is_not_a_number_is_refused_naming_the_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quotes = tmp_path / "quotes.csv"
    write_open_quotes(quotes)
    lines = quotes.read_text().splitlines()
    lines[2] = ",".join([*lines[2].split(",")[:3], "lots", *lines[2].split(",")[4:]])
    quotes.write_text("\n".join(lines) + "\n")
    assert backtest(tmp_path / "run", "--quotes", str(quotes)) == 1
    error = capsys.readouterr().err
    assert "row 3" in error
    assert "'ask'" in error
