"""``papertape compare``: a paper session against its backtest, or ``--what-if`` other models."""

from __future__ import annotations

import argparse
from pathlib import Path

from papertape.cli import endpoints
from papertape.cli.backtests.bars import BadBars
from papertape.cli.backtests.comparing import comparison
from papertape.cli.backtests.logs import LogFileError
from papertape.cli.backtests.models import add_model_options
from papertape.cli.backtests.runs import add_bar_options
from papertape.cli.backtests.strategies import StrategyNotFound
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import fail, print_json, print_record, print_rows, stdout
from papertape.contract.codec import to_builtins
from papertape.trading.backtest import FillAt
from papertape.trading.backtest.comparison import Comparison

FILL_COLUMNS = (
    "key",
    "side",
    "left_ts",
    "seconds",
    "left_price",
    "price",
    "quantity",
    "fee",
    "pnl",
)
ONE_SIDE_COLUMNS = ("key", "side", "symbol", "ts", "price", "quantity", "fee")


def register(subparsers: Subparsers) -> None:
    """Add ``compare``."""
    parser = subparsers.add_parser(
        "compare",
        help="paper against backtest fill by fill, or --what-if under other models",
        description="Without --what-if: a backtest of the recorded session's strategy, "
        "parameters, sizing and account over the same bars, its fills matched to the paper "
        "session's by signal. With --what-if: the recorded account's own orders again under "
        "the fee, slippage and latency models given, matched by order. Each matched fill "
        "shows the differences (backtest or what-if minus recorded) in time, price, quantity, "
        "fee and P&L; the summary warns where a metric differs by more than its threshold.",
    )
    run = parser.add_mutually_exclusive_group(required=True)
    run.add_argument("--session", help="the recorded bot session")
    run.add_argument("--account", help="the recorded account (for --what-if)")
    parser.add_argument("--log", type=Path, metavar="FILE", help="a log file, not the database")
    parser.add_argument("--what-if", action="store_true", help="re-run the account's own orders")
    parser.add_argument("--strategy", help="the session's strategy class, when not a built-in")
    parser.add_argument("--fill", type=FillAt, default=FillAt.NEXT_OPEN, choices=list(FillAt))
    parser.add_argument("--costs", choices=("recorded", "none"), default="recorded")
    add_bar_options(parser)
    add_model_options(parser)
    add_json_option(parser, "print the comparison as JSON")
    parser.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    if args.log is None:
        args.database_url = endpoints.database_url(args)
    try:
        result = comparison(args)
    except (BadBars, StrategyNotFound, LogFileError, ValueError, OSError) as error:
        return fail(str(error))
    if args.json:
        print_json({**to_builtins(result), "divergent": result.divergent})
    else:
        _print(result)
    return 0


def _print(result: Comparison) -> None:
    out = stdout()
    out.print(f"{result.right} against {result.left}: {len(result.matched)} fills matched, "
              f"{result.divergent} divergent")  # fmt: skip
    print_rows("matched fills", [to_builtins(d) for d in result.matched], FILL_COLUMNS)
    print_rows(f"{result.left} only", [to_builtins(u) for u in result.only_left], ONE_SIDE_COLUMNS)
    print_rows(
        f"{result.right} only", [to_builtins(u) for u in result.only_right], ONE_SIDE_COLUMNS
    )
    print_record("totals of the differences", {"fee": result.fee_total, "pnl": result.pnl_total})
    columns = ("metric", "left", "right", "delta", "threshold", "warning")
    print_rows("summary", [to_builtins(s) for s in result.summary], columns)
    for metric in result.warnings:
        out.print(f"WARNING: {metric} differs by more than its threshold")
