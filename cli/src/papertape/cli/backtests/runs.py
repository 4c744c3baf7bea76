"""A backtest from the command line's options: the strategy, the bars, the config, the run."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from papertape.cli import endpoints
from papertape.cli.backtests.bars import Selection, file_bars, merged, parse_time, stored_bars
from papertape.cli.backtests.quotes import file_quotes
from papertape.cli.backtests.strategies import strategy_class
from papertape.cli.output import progress
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.events.reports import AccountReport
from papertape.contract.events.sessions import RiskOverrides, Sizing, TradingMode
from papertape.contract.limits import RiskLimits
from papertape.trading.account.reports import account_report
from papertape.trading.backtest import NO_COSTS, Backtest, BacktestConfig, FillAt
from papertape.trading.backtest.quotes import run_on_quotes


def add_backtest_options(parser: argparse.ArgumentParser) -> None:
    """The options of a backtest (``backtest`` and ``compare`` share them)."""
    parser.add_argument(
        "--strategy", required=True, help="a built-in (ma_crossover, ...) or package.module:Class"
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
    )
    add_bar_options(parser)
    parser.add_argument(
        "--fill", type=FillAt, default=FillAt.NEXT_OPEN, choices=list(FillAt),
        help="entries fill at the next bar's open (default), the signal bar's close, or where "
        "the next bar's path reaches the signal's entry price (bar_path: else they expire)",
    )  # fmt: skip
    parser.add_argument(
        "--costs", choices=("schedule", "none"), default="schedule",
        help="the default cost schedule (fees, slippage), or none",
    )  # fmt: skip
    parser.add_argument("--mode", type=TradingMode, default=TradingMode.BALANCED)
    parser.add_argument("--sizing", type=Sizing, choices=list(Sizing))
    parser.add_argument("--quantity", type=Decimal, help="for --sizing fixed_quantity")
    parser.add_argument("--risk-pct", type=Decimal, help="risk per trade, %% of equity")
    parser.add_argument("--fraction-pct", type=Decimal, help="for --sizing fixed_fraction")
    parser.add_argument("--min-confidence", type=int)
    sides = parser.add_mutually_exclusive_group()
    sides.add_argument("--long-only", dest="allow_short", action="store_false", default=None)
    sides.add_argument("--long-short", dest="allow_short", action="store_true")
    parser.add_argument("--cash", type=Decimal, default=Decimal(100_000), help="starting cash")


def add_bar_options(parser: argparse.ArgumentParser) -> None:
    """Where the bars come from, which symbols and when."""
    source = parser.add_argument_group("bars (files, or the bar history in PostgreSQL)")
    source.add_argument(
        "--data", action="append", default=[], type=Path, metavar="FILE", help="CSV or Parquet"
    )
    source.add_argument(
        "--from-database", action="store_true", help="read market-data's bar history"
    )
    source.add_argument("--database-url", help="the bar history's database (with --from-database)")
    parser.add_argument(
        "--symbol", action="append", default=[], help="symbols to trade (default: every one)"
    )
    source.add_argument(
        "--quotes", action="append", default=[], type=Path, metavar="FILE",
        help="the quotes the bars were built from (a replay's file): the venue fills on them, "
        "at the first quote after an order, as the paper venue does (repeatable)",
    )  # fmt: skip
    parser.add_argument("--timeframe", type=Timeframe, default=Timeframe.M1)
    parser.add_argument("--start", type=parse_time, metavar="ISO", help="first bar start")
    parser.add_argument("--end", type=parse_time, metavar="ISO", help="bars starting before")


def parameters(pairs: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` options as the strategy's raw parameters (converted by its struct)."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {pair!r}: expected NAME=VALUE")
        found[name.strip()] = value.strip()
    return found


def config_of(args: argparse.Namespace) -> BacktestConfig:
    """The engine's configuration from the options (bad values name the option)."""
    cls = strategy_class(args.strategy)
    raw: dict[str, Any] = parameters(args.param)
    for name, value in raw.items():
        if value.lstrip("-").isdigit():
            raw[name] = int(value)
        elif value in ("true", "false"):
            raw[name] = value == "true"
    try:
        msgspec.convert(raw, cls.params_type, strict=False)
    except (msgspec.ValidationError, ValueError) as error:
        raise ValueError(f"--param: {error}") from error
    overrides = RiskOverrides(
        sizing=args.sizing,
        quantity=args.quantity,
        risk_per_trade_pct=args.risk_pct,
        fraction_pct=args.fraction_pct,
        min_confidence=args.min_confidence,
    )
    return BacktestConfig(
        strategy=cls,
        parameters=raw,
        symbols=tuple(args.symbol),
        timeframe=args.timeframe,
        mode=args.mode,
        overrides=overrides,
        initial_cash=args.cash,
        allow_short=args.allow_short,
        limits=RiskLimits(),
        fill_at=args.fill,
        schedule=NO_COSTS if args.costs == "none" else None,
    )


def bars_of(args: argparse.Namespace) -> list[BarClosed]:
    """The selected bars, from the files or the database."""
    selection = Selection(
        symbols=frozenset(args.symbol),
        timeframe=args.timeframe,
        start=args.start,
        end=args.end,
    )
    if args.from_database:
        return asyncio.run(stored_bars(endpoints.database_url(args), selection))
    if not args.data:
        raise ValueError("--data FILE (repeatable) or --from-database: no bars to test on")
    only = args.symbol[0] if len(args.symbol) == 1 else None
    return merged(file_bars(path, selection, only) for path in args.data)


def quotes_of(args: argparse.Namespace, bars: list[BarClosed]) -> list[QuoteReceived]:
    """The quotes of ``--quotes`` (none without it) of the symbols, from the first bar on, in
    time order."""
    selection = Selection(symbols=frozenset(args.symbol), start=bars[0].start if bars else None)
    only = args.symbol[0] if len(args.symbol) == 1 else None
    return sorted(
        (q for path in args.quotes for q in file_quotes(path, selection, only)),
        key=lambda q: (q.ts_event, q.symbol),
    )


def feed(engine: Backtest, args: argparse.Namespace, bars: list[BarClosed]) -> None:
    """The bars through the engine, with the quotes of ``--quotes`` when given (a progress bar
    on a terminal for bars alone)."""
    if args.quotes:
        run_on_quotes(engine, bars, quotes_of(args, bars))
        return
    with progress("backtesting", len(bars)) as advance:
        engine.run(bars, advance)


@dataclass(frozen=True, slots=True)
class Run:
    """A finished backtest and its report."""

    engine: Backtest
    report: AccountReport


def run(args: argparse.Namespace) -> Run:
    """Load, configure, run (with a progress bar on a terminal) and report."""
    bars = bars_of(args)
    if not bars:
        raise ValueError("no bars match the symbols and dates given")
    config = config_of(args)
    if not config.symbols:
        config = dataclasses.replace(config, symbols=tuple(sorted({b.symbol for b in bars})))
    engine = Backtest(config)
    feed(engine, args, bars)
    return Run(engine, account_report(engine.account))
