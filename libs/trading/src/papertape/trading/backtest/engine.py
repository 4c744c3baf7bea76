"""The backtest engine: a bot session, its account and the venue, wired in one process.

The same code as paper trading, in the order the services run it, bar by bar:

1. the venue walks the bar with the orders it holds (market orders placed after the previous
   bar fill at its open; brackets along its path); each report becomes the account's command
   (``command_for``, as portfolio translates), and the account's events go back to the venue
   (as execution follows ACCOUNTS) until both are quiet; a fill of the session's order is
   recorded against the session (as the signal service reads fills);
2. the account is marked at the bar's close (as portfolio's marks do);
3. the session evaluates the bar (``Bot.on_bar``: signal, outcomes, order requests), sized by
   the account's summary at that moment; each request is decided by the account (pre-trade
   risk included) and its answer recorded by the session;
4. with ``FillAt.CLOSE``, the venue sees the bar's close as one point of market at once.

Everything is recorded in a ``MemoryLog``; nothing reads a clock, so the same bars and
configuration give the same log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    ApplyMark,
    OpenAccount,
    OrderFilledV2,
    SetCostModelV2,
    SetRiskLimits,
    account_stream,
)
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import (
    RiskSettings,
    SessionFillRecorded,
    SessionStarted,
    session_stream,
)
from papertape.contract.ids import AccountId, Symbol
from papertape.trading.account import AccountState, DecisionContext, decide, evolve
from papertape.trading.account.currency import symbols_to_mark
from papertape.trading.account.reports import account_summary
from papertape.trading.account.state import INITIAL_STATE
from papertape.trading.account.translation import command_for
from papertape.trading.backtest.config import BacktestConfig, FillAt
from papertape.trading.backtest.log import MemoryLog
from papertape.trading.strategies.api import Strategy, params_hash
from papertape.trading.strategies.bots import Bot, BotEvent
from papertape.trading.strategies.modes import risk_settings
from papertape.trading.strategies.requests import answer_from, place_order_of, room_of
from papertape.trading.strategies.sessions import SessionState
from papertape.trading.strategies.sizing import AccountRoom
from papertape.trading.venue import Venue

Progress = Callable[[int], None]


class Backtest:
    """One session trading one account on the simulated venue, fed bars in time order."""

    def __init__(self, config: BacktestConfig) -> None:
        self.config = config
        self.log = MemoryLog(config.session_id)
        venue_config = msgspec.structs.replace(config.venue, bar_timeframe=str(config.timeframe))
        self.venue = Venue(venue_config)
        self.account: AccountState = INITIAL_STATE
        self.marks: dict[Symbol, Decimal] = {}
        self.bot = Bot(strategies=self._strategy)
        self.bars = 0
        self._account_stream = account_stream(config.account_id)
        self._session_stream = session_stream(config.session_id)
        self._params = msgspec.convert(
            dict(config.parameters), config.strategy.params_type, strict=False
        )
        self._room: AccountRoom | None = None
        self._risk = risk_settings(config.mode, config.overrides)
        self.shorts = self._build(self._risk).allow_short

    # --- wiring ----------------------------------------------------------------------------
    def _strategy(self, state: SessionState) -> Strategy:
        assert state.risk is not None
        return self._build(state.risk)

    def _build(self, risk: RiskSettings) -> Strategy:
        strategy = self.config.strategy(self._params, risk)
        if self.config.allow_short is not None:
            strategy.allow_short = self.config.allow_short
        return strategy

    def start(self, first: BarClosed) -> None:
        """Open the account and start the session just before the first bar."""
        config, at = self.config, first.start
        account = AccountId(config.account_id)
        opening: list[AccountCommand] = [
            OpenAccount(
                account_id=account,
                name=f"backtest of {config.strategy.name}",
                base_currency=config.base_currency,
                initial_cash=config.initial_cash,
                allow_short=self.shorts,
                margin_requirement=config.margin_requirement,
            ),
            SetRiskLimits(account_id=account, limits=config.limits),
        ]
        if config.schedule is not None:
            opening.append(SetCostModelV2(account_id=account, schedule=config.schedule))
        for command in opening:
            self._command(command, at, "start")
        parameters = msgspec.to_builtins(self._params)
        started = SessionStarted(
            session_id=config.session_id,
            ts=at,
            account_id=account,
            strategy=config.strategy.name,
            parameters=parameters,
            params_hash=params_hash(config.strategy.name, parameters),
            symbols=tuple(Symbol(s) for s in dict.fromkeys(config.symbols)),
            timeframe=config.timeframe,
            mode=config.mode,
            risk=self._risk,
        )
        self._session([started], "start")

    def run(self, bars: Iterable[BarClosed], progress: Progress | None = None) -> None:
        """Feed every bar (in time order); ``progress`` hears how many were done now and then."""
        for bar in bars:
            if not self.bars:
                self.start(bar)
            self.on_bar(bar)
            if progress is not None and self.bars % 10_000 == 0:
                progress(10_000)
        if progress is not None:
            progress(self.bars % 10_000)

    def on_bar(self, bar: BarClosed) -> None:
        """One bar through the venue, the account's marks and the session (see the module)."""
        self.bars += 1
        cause = f"bar:{bar.symbol}:{bar.start.isoformat()}"
        self.marks[bar.symbol] = bar.close
        reports = self.venue.on_bar(bar)
        if reports:
            self._settle(reports, cause)
        if bar.symbol in self.account.positions:
            self._mark(bar, cause)
        self._room = None
        events = self.bot.on_bar(bar, self._sized, bar.end)
        if not events:
            return
        self._session(events, cause, folded=True)
        for order in list(self.bot.state.requested.values()):
            placed = self._command(place_order_of(order), bar.end, order.order_id)
            self._session([answer_from(order, placed, bar.end)], order.order_id)
        if self.config.fill_at is FillAt.CLOSE and self.venue.state.orders:
            at_close = msgspec.structs.replace(
                bar, open=bar.close, high=bar.close, low=bar.close, start=bar.end
            )
            self._settle(self.venue.on_bar(at_close), cause)

    # --- the account -----------------------------------------------------------------------
    def _sized(self) -> AccountRoom | None:
        if self._room is None:
            self._room = room_of(account_summary(self.account))
        return self._room

    def _mark(self, bar: BarClosed, cause: str) -> None:
        for symbol in symbols_to_mark(self.account):
            price = self.marks.get(symbol)
            if price is not None and self.account.marks.get(symbol) != price:
                mark = ApplyMark(
                    account_id=AccountId(self.config.account_id),
                    symbol=symbol,
                    price=price,
                    ts=bar.end,
                )
                self._command(mark, bar.end, cause)

    def _command(self, command: AccountCommand, now: datetime, cause: str) -> list[AccountEvent]:
        """Decide at the account, record, and settle with the venue; the command's events."""
        events = self._decide(command, now, cause)
        reports: list[ExecutionReport] = []
        for event in events:
            reports += self.venue.on_account_event(event)
        if reports:
            self._settle(reports, cause)
        return events

    def _decide(self, command: AccountCommand, now: datetime, cause: str) -> list[AccountEvent]:
        events = decide(command, self.account, DecisionContext(now=now, marks=self.marks))
        if not events:
            return events
        state = self.account
        for event in events:
            state = evolve(state, event)
        self.account = state
        self.log.append(self._account_stream, events, now, cause)
        fills = [self._fill_of(e) for e in events if isinstance(e, OrderFilledV2)]
        recorded: list[BotEvent] = [f for f in fills if f is not None]
        if recorded:
            self._session(recorded, cause)
        return events

    def _settle(self, reports: list[ExecutionReport], cause: str) -> None:
        """Reports to the account, its events back to the venue, until both are quiet."""
        pending = deque(reports)
        while pending:
            report = pending.popleft()
            for event in self._decide(command_for(report), report.ts, cause):
                pending.extend(self.venue.on_account_event(event))

    # --- the session -----------------------------------------------------------------------
    def _fill_of(self, fill: OrderFilledV2) -> SessionFillRecorded | None:
        state = self.bot.state
        if fill.order_id not in state.orders or fill.fill_id in state.fill_ids:
            return None
        return SessionFillRecorded(
            session_id=state.session_id,
            ts=fill.ts,
            order_id=fill.order_id,
            fill_id=fill.fill_id,
            symbol=fill.symbol,
            side=fill.side,
            price=fill.price,
            quantity=fill.quantity,
            fee=fill.fee,
            realized_pnl=fill.realized_pnl,
        )

    def _session(self, events: list[BotEvent], cause: str, *, folded: bool = False) -> None:
        """Record the session's events, folding them into the bot unless ``on_bar`` did."""
        if not folded:
            self.bot.apply(events)
        self.log.append(self._session_stream, events, events[0].ts, cause)
