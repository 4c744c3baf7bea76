"""``papertape eligibility``: whether a paper account or session qualifies to trade live."""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal
from pathlib import Path

import msgspec

from papertape.cli import endpoints
from papertape.cli.backtests.bars import BadBars
from papertape.cli.backtests.comparing import comparison
from papertape.cli.backtests.logs import LogFileError
from papertape.cli.backtests.models import add_model_options
from papertape.cli.backtests.recorded import RecordedRun, opened_log, recorded_run
from papertape.cli.backtests.runs import add_bar_options
from papertape.cli.backtests.strategies import StrategyNotFound
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import fail, print_json, print_rows, stdout
from papertape.contract.codec import to_builtins
from papertape.trading.account import replay
from papertape.trading.account.reports import account_performance
from papertape.trading.backtest import FillAt
from papertape.trading.backtest.eligibility import Requirements, eligibility


def register(subparsers: Subparsers) -> None:
    """Add ``eligibility``."""
    parser = subparsers.add_parser(
        "eligibility",
        help="whether an account or session qualifies to trade live",
        description="Time on paper, number of trades, win rate, profit factor, max drawdown "
        "and Sharpe against thresholds, and, when bars are given (--data or --from-database) "
        "for a session, its paper-against-backtest deltas within their bounds. Each criterion "
        "is shown with its figure and whether it is met; exit 0 when every one is, else 2.",
    )
    run = parser.add_mutually_exclusive_group(required=True)
    run.add_argument("--session", help="the paper bot session")
    run.add_argument("--account", help="the paper account")
    parser.add_argument("--log", type=Path, metavar="FILE", help="a log file, not the database")
    for name, default in msgspec.structs.asdict(Requirements()).items():
        kind = int if isinstance(default, int) else Decimal
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=kind, default=default, dest=f"need_{name}")
    parser.add_argument("--strategy", help="the session's strategy class, when not a built-in")
    parser.add_argument("--fill", type=FillAt, default=FillAt.NEXT_OPEN, choices=list(FillAt))
    parser.add_argument("--costs", choices=("recorded", "none"), default="recorded")
    add_bar_options(parser)
    add_model_options(parser)
    add_json_option(parser, "print the verdict and every criterion as JSON")
    parser.set_defaults(handler=_eligibility, what_if=False)


def _eligibility(args: argparse.Namespace) -> int:
    if args.log is None:
        args.database_url = endpoints.database_url(args)
    wanted = Requirements(
        **{name: getattr(args, f"need_{name}") for name in Requirements.__struct_fields__}
    )

    async def load() -> RecordedRun:
        async with opened_log(args) as log:
            return await recorded_run(log, session=args.session, account=args.account)

    try:
        run = asyncio.run(load())
        compared = None
        if args.session and (args.data or args.from_database):
            compared = comparison(args)
    except (BadBars, StrategyNotFound, LogFileError, ValueError, OSError) as error:
        return fail(str(error))
    verdict = eligibility(
        account_performance(replay(run.account)),
        first=run.account[0].ts,
        last=run.account[-1].ts,
        requirements=wanted,
        comparison=compared,
    )
    if args.json:
        print_json(to_builtins(verdict))
    else:
        rows = [to_builtins(c) for c in verdict.criteria]
        print_rows("live-trading eligibility", rows, ("name", "figure", "threshold", "met"))
        stdout().print("QUALIFIES" if verdict.qualifies else "DOES NOT QUALIFY")
    return 0 if verdict.qualifies else 2
