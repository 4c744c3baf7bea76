"""``compare``'s two runs: the recorded one, and a backtest of its session or a what-if of its
account's orders, under the models the options give."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from papertape.cli.backtests.bars import SECONDS
from papertape.cli.backtests.models import schedule_of, thresholds_of, venue_of
from papertape.cli.backtests.recorded import RecordedRun, opened_log, recorded_run
from papertape.cli.backtests.runs import bars_of, feed, quotes_of
from papertape.cli.backtests.strategies import strategy_class
from papertape.contract.costs import schedule_from
from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import RiskOverrides, SessionStarted
from papertape.contract.events.signals import SignalGenerated
from papertape.trading.account import replay
from papertape.trading.account.reports import account_performance
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.backtest.comparison import Comparison, by_order, by_signal, compare
from papertape.trading.backtest.whatif import Models, Recorded, what_if


def _period(args: argparse.Namespace, run: RecordedRun) -> None:
    """The recorded session's bars when no dates are given: its first to its last signal."""
    signals = [e for e in run.session if isinstance(e, SignalGenerated)]
    if signals and args.start is None:
        args.start = signals[0].bar.start
    if signals and args.end is None:
        args.end = signals[-1].bar.start + timedelta(seconds=1)
    if not args.symbol and run.started is not None:
        args.symbol = list(run.started.symbols)


def _config(
    args: argparse.Namespace, started: SessionStarted, recorded: Recorded
) -> BacktestConfig:
    opened = recorded.opened
    base = recorded.costs.schedule if recorded.costs else schedule_from(opened.cost_model)
    risk = started.risk
    overrides = RiskOverrides(**{f: getattr(risk, f) for f in RiskOverrides.__struct_fields__})
    return BacktestConfig(
        strategy=strategy_class(args.strategy or started.strategy),
        parameters=dict(started.parameters),
        symbols=tuple(started.symbols),
        timeframe=started.timeframe,
        mode=started.mode,
        overrides=overrides,
        initial_cash=opened.initial_cash,
        base_currency=opened.base_currency,
        account_allow_short=opened.allow_short,
        margin_requirement=opened.margin_requirement,
        limits=recorded.limits.limits if recorded.limits else opened.limits,
        fill_at=args.fill,
        schedule=schedule_of(args, base),
        venue=venue_of(args),
        account_id=f"backtest-{opened.account_id}"[:64],
        session_id=f"backtest-{started.session_id}"[:64],
    )


def _backtest(
    args: argparse.Namespace, run: RecordedRun, recorded: Recorded, bars: list[BarClosed]
) -> Comparison:
    started = run.started
    if started is None:
        raise ValueError("--session: comparing with a backtest needs the recorded session")
    engine = Backtest(_config(args, started, recorded))
    feed(engine, args, bars)
    account = engine.log.of(f"account-{engine.config.account_id}")
    session = engine.log.of(f"session-{engine.config.session_id}")
    fills = [e for e in account if isinstance(e, OrderFilledV2)]
    return compare(
        ("paper", "backtest"),
        (by_signal(recorded.fills, run.session), by_signal(fills, session)),
        (account_performance(replay(run.account)), account_performance(engine.account)),
        thresholds_of(args),
    )


def _what_if(
    args: argparse.Namespace, run: RecordedRun, recorded: Recorded, bars: list[BarClosed]
) -> Comparison:
    opened = recorded.opened
    base = recorded.costs.schedule if recorded.costs else schedule_from(opened.cost_model)
    models = Models(schedule=schedule_of(args, base), venue=venue_of(args))
    state, fills = what_if(recorded, bars, models, quotes_of(args, bars))
    return compare(
        ("recorded", "what-if"),
        (by_order(recorded.fills), by_order(fills)),
        (account_performance(replay(run.account)), account_performance(state)),
        thresholds_of(args),
    )


def comparison(args: argparse.Namespace) -> Comparison:
    """The comparison the options ask for."""

    async def load() -> RecordedRun:
        async with opened_log(args) as log:
            return await recorded_run(log, session=args.session, account=args.account)

    run = asyncio.run(load())
    recorded = Recorded.of(run.account)
    _period(args, run)
    if args.timeframe not in SECONDS:
        raise ValueError(f"--timeframe {args.timeframe!r}: unknown")
    bars = bars_of(args)
    if not bars:
        raise ValueError("no bars match the recorded period and symbols")
    if args.what_if:
        return _what_if(args, run, recorded, bars)
    return _backtest(args, run, recorded, bars)
