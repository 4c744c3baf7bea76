"""``papertape backtest``: a strategy over recorded bars, on the same code as paper trading."""

from __future__ import annotations

import argparse
from pathlib import Path

import msgspec

from papertape.cli.backtests.bars import BadBars
from papertape.cli.backtests.outputs import write_outputs
from papertape.cli.backtests.runs import add_backtest_options, run
from papertape.cli.backtests.strategies import StrategyNotFound
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import fail, print_json, stdout
from papertape.cli.statements import print_report


def register(subparsers: Subparsers) -> None:
    """Add ``backtest``."""
    parser = subparsers.add_parser(
        "backtest",
        help="run a strategy over recorded bars (no NATS, no PostgreSQL needed)",
        description="The same strategy, sizing, account and venue code as paper trading, with "
        "an in-memory log: writes the report, trades.csv, equity.csv, chart.html, chart.png "
        "and the log as JSON Lines (papertape audit verify --file accepts it) into --output.",
    )
    add_backtest_options(parser)
    parser.add_argument(
        "--output", "-o", type=Path, default=Path("backtest"), help="directory (default backtest)"
    )
    add_json_option(parser, "print the report and the files written as JSON")
    parser.set_defaults(handler=_backtest)


def _backtest(args: argparse.Namespace) -> int:
    try:
        done = run(args)
    except (BadBars, StrategyNotFound, ValueError, OSError) as error:
        return fail(str(error))
    title = f"backtest of {args.strategy} over {done.engine.bars} bars"
    written = write_outputs(args.output, title, done.report, done.engine.log.envelopes)
    if args.json:
        print_json({"report": done.report, "files": written})
    else:
        print_report(title, done.report)
        for name, path in msgspec.structs.asdict(written).items():
            stdout().print(f"{name}: {path}")
    return 0
