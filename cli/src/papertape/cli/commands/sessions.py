"""``papertape strategies``, ``papertape session …`` and ``papertape signals``: bot sessions."""

from __future__ import annotations

import argparse
import json

from papertape.cli.bots import (
    SignalsClient,
    print_session,
    print_sessions,
    print_signals,
    print_trades,
    signals_handler,
)
from papertape.cli.client import decimal_argument, portfolio_options, timestamp_argument
from papertape.cli.commands import Subparsers
from papertape.cli.output import print_json, print_rows
from papertape.contract.events.market import Timeframe
from papertape.contract.events.sessions import (
    CalibrationReport,
    CompareSessions,
    GetCalibration,
    GetSession,
    GetSignals,
    ListSessions,
    ListStrategies,
    PauseSession,
    ResumeSession,
    RiskOverrides,
    SessionCommand,
    SessionView,
    SignalPage,
    Sizing,
    StartSession,
    StopKind,
    StopSession,
    StrategyInfo,
    TradingMode,
)
from papertape.contract.events.signals import Decision
from papertape.contract.ids import AccountId, Symbol


def register(subparsers: Subparsers) -> None:
    """Add ``strategies``, ``session`` (start, pause, resume, stop, status, list, compare) and
    ``signals``."""
    common = portfolio_options()
    strategies = subparsers.add_parser(
        "strategies", parents=[common], help="the built-in strategies and their parameters"
    )
    strategies.set_defaults(handler=signals_handler(_strategies))

    parser = subparsers.add_parser("session", help="start, watch and stop bot sessions")
    commands = parser.add_subparsers(title="session commands", metavar="ACTION", required=True)
    start = commands.add_parser(
        "start",
        parents=[common],
        help="start a bot session: a strategy trading symbols on an account",
        description="Parameters as NAME=VALUE (see `papertape strategies`). Exit 1 when refused.",
    )
    start.add_argument("session_id", metavar="SESSION")
    start.add_argument("account", metavar="ACCOUNT")
    start.add_argument("strategy", metavar="STRATEGY")
    start.add_argument("symbols", metavar="SYMBOL", nargs="+")
    start.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    start.add_argument("--timeframe", choices=[t.value for t in Timeframe], default="1m")
    start.add_argument("--mode", choices=[m.value for m in TradingMode], default="BALANCED")
    start.add_argument("--minutes", type=int, help="stop by itself after this many minutes")
    start.add_argument("--no-auto-execute", action="store_true", help="signals only, no orders")
    start.add_argument("--risk-pct", type=decimal_argument, help="risk per trade, %% of equity")
    start.add_argument("--min-confidence", type=int, help="the least confidence to trade (0-100)")
    start.add_argument("--max-positions", type=int, help="most positions open at once")
    start.add_argument("--stop-kind", choices=[k.value for k in StopKind])
    start.add_argument("--stop-value", type=decimal_argument, help="ATR multiple or %% of entry")
    start.add_argument(
        "--target-r", type=decimal_argument, action="append", help="target in R (once or twice)"
    )
    start.add_argument("--sizing", choices=[s.value for s in Sizing])
    start.add_argument("--quantity", type=decimal_argument, help="for --sizing fixed_quantity")
    start.add_argument("--fraction-pct", type=decimal_argument, help="for --sizing fixed_fraction")
    start.set_defaults(handler=signals_handler(_start))

    for name, what in (("pause", "place no orders"), ("resume", "place orders again")):
        action = commands.add_parser(name, parents=[common], help=f"{what} (signals go on)")
        action.add_argument("session_id", metavar="SESSION")
        action.add_argument("--reason", default="")
        action.set_defaults(handler=signals_handler(_lifecycle), action=name)
    stop = commands.add_parser("stop", parents=[common], help="end a session for good")
    stop.add_argument("session_id", metavar="SESSION")
    stop.add_argument("--reason", default="stopped by hand")
    stop.set_defaults(handler=signals_handler(_lifecycle), action="stop")

    status = commands.add_parser("status", parents=[common], help="one session's status")
    status.add_argument("session_id", metavar="SESSION")
    status.set_defaults(handler=signals_handler(_status))
    listing = commands.add_parser("list", parents=[common], help="every session")
    listing.add_argument("--account", help="only this account's")
    listing.set_defaults(handler=signals_handler(_list))
    compare = commands.add_parser("compare", parents=[common], help="sessions side by side")
    compare.add_argument("session_ids", metavar="SESSION", nargs="+")
    compare.set_defaults(handler=signals_handler(_compare))
    calibration = commands.add_parser(
        "calibration", parents=[common], help="hit rate by confidence level, Brier score"
    )
    calibration.add_argument("--strategy")
    calibration.set_defaults(handler=signals_handler(_calibration))

    signals = subparsers.add_parser(
        "signals", parents=[common], help="signal history, newest first (filters, pages)"
    )
    signals.add_argument("--session")
    signals.add_argument("--strategy")
    signals.add_argument("--symbol")
    signals.add_argument("--decision", choices=[d.value for d in Decision])
    signals.add_argument("--min-confidence", type=int, default=0)
    signals.add_argument("--since", type=timestamp_argument, metavar="ISO")
    signals.add_argument("--until", type=timestamp_argument, metavar="ISO")
    signals.add_argument("--offset", type=int, default=0)
    signals.add_argument("--limit", type=int, default=20)
    signals.set_defaults(handler=signals_handler(_signals))


def _parameter(text: str) -> tuple[str, int | bool | str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"a parameter is NAME=VALUE, got {text!r}")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    if value.lstrip("-").isdigit():
        return name, int(value)
    return name, value


def start_of(args: argparse.Namespace) -> StartSession:
    """The StartSession command the arguments describe."""
    overrides = RiskOverrides(
        risk_per_trade_pct=args.risk_pct,
        min_confidence=args.min_confidence,
        max_open_positions=args.max_positions,
        stop_kind=StopKind(args.stop_kind) if args.stop_kind else None,
        stop_value=args.stop_value,
        target_r=tuple(args.target_r) if args.target_r else None,
        sizing=Sizing(args.sizing) if args.sizing else None,
        quantity=args.quantity,
        fraction_pct=args.fraction_pct,
    )
    return StartSession(
        session_id=args.session_id,
        account_id=AccountId(args.account),
        strategy=args.strategy,
        parameters=dict(_parameter(p) for p in args.param),
        symbols=tuple(Symbol(s) for s in args.symbols),
        timeframe=Timeframe(args.timeframe),
        mode=TradingMode(args.mode),
        overrides=overrides,
        runtime_minutes=args.minutes,
        auto_execute=not args.no_auto_execute,
    )


async def _strategies(client: SignalsClient, args: argparse.Namespace) -> int:
    infos: list[StrategyInfo] = await client.query(ListStrategies())
    if args.json:
        print_json(infos)
        return 0
    rows = [
        {"name": i.name, "description": i.description, "defaults": json.dumps(i.defaults)}
        for i in infos
    ]
    print_rows("strategies", rows, ("name", "description", "defaults"))
    return 0


async def _start(client: SignalsClient, args: argparse.Namespace) -> int:
    return _show(await client.command(start_of(args)), args)


async def _lifecycle(client: SignalsClient, args: argparse.Namespace) -> int:
    commands: dict[str, SessionCommand] = {
        "pause": PauseSession(session_id=args.session_id, reason=args.reason),
        "resume": ResumeSession(session_id=args.session_id),
        "stop": StopSession(session_id=args.session_id, reason=args.reason),
    }
    return _show(await client.command(commands[args.action]), args)


async def _status(client: SignalsClient, args: argparse.Namespace) -> int:
    return _show(await client.query(GetSession(session_id=args.session_id)), args)


def _show(view: SessionView, args: argparse.Namespace) -> int:
    if args.json:
        print_json(view)
    else:
        print_session(view)
    return 0


async def _list(client: SignalsClient, args: argparse.Namespace) -> int:
    account = AccountId(args.account) if args.account else None
    views: list[SessionView] = await client.query(ListSessions(account_id=account))
    if args.json:
        print_json(views)
    else:
        print_sessions("sessions", views)
    return 0


async def _compare(client: SignalsClient, args: argparse.Namespace) -> int:
    views: list[SessionView] = await client.query(
        CompareSessions(session_ids=tuple(args.session_ids))
    )
    if args.json:
        print_json(views)
        return 0
    print_sessions("sessions compared", views)
    for view in views:
        print_trades(view)
    return 0


async def _calibration(client: SignalsClient, args: argparse.Namespace) -> int:
    reports: list[CalibrationReport] = await client.query(GetCalibration(strategy=args.strategy))
    if args.json:
        print_json(reports)
        return 0
    rows = [
        {
            "strategy": report.strategy,
            "brier": report.brier,
            "level": level.level,
            "signals": level.signals,
            "hit_rate": level.hit_rate,
        }
        for report in reports
        for level in report.levels
    ]
    print_rows("calibration", rows, ("strategy", "level", "signals", "hit_rate", "brier"))
    return 0


async def _signals(client: SignalsClient, args: argparse.Namespace) -> int:
    page: SignalPage = await client.query(
        GetSignals(
            session_id=args.session,
            strategy=args.strategy,
            symbol=Symbol(args.symbol) if args.symbol else None,
            decision=Decision(args.decision) if args.decision else None,
            min_confidence=args.min_confidence,
            since=args.since,
            until=args.until,
            offset=args.offset,
            limit=args.limit,
        )
    )
    if args.json:
        print_json(page)
    else:
        print_signals(page.signals)
    return 0
