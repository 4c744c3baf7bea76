"""The backtest engine: a bot session trading its account on the venue, in one process.

The same code as paper trading, in the order the services run it, bar by bar:

1. the venue walks the bar with the orders it holds (market orders placed after the previous
   bar fill at its open; brackets along its path), the account settles with it, and a fill of
   the session's order is recorded against the session (as the signal service reads fills);
   the account is marked at the bar's close (``Desk.market``);
2. the session evaluates the bar (``Bot.on_bar``: signal, outcomes, order requests), sized by
   the account's summary at that moment; each request is decided by the account (pre-trade
   risk included) and its answer recorded by the session;
3. with ``FillAt.CLOSE``, the venue sees the bar's close as one point of market at once;
   with ``FillAt.BAR_PATH``, entries rest in the venue till the next bar's end (``entries``).

Everything is recorded in a ``MemoryLog``; nothing reads a clock, so the same bars and
configuration give the same log.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import msgspec

from papertape.contract.events.account import (
    AccountCommand,
    OpenAccount,
    OrderExpired,
    OrderFilledV2,
    SetCostModelV2,
    SetRiskLimits,
)
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import (
    RiskSettings,
    SessionStarted,
    session_stream,
)
from papertape.contract.ids import Symbol
from papertape.trading.account import AccountState
from papertape.trading.backtest.config import BacktestConfig, FillAt
from papertape.trading.backtest.desk import Desk
from papertape.trading.backtest.entries import resting_entry
from papertape.trading.backtest.log import MemoryLog
from papertape.trading.strategies.api import Strategy, params_hash
from papertape.trading.strategies.bots import Bot, BotEvent
from papertape.trading.strategies.modes import risk_settings
from papertape.trading.strategies.requests import (
    answer_from,
    entry_expired,
    fill_recorded,
    place_order_of,
)
from papertape.trading.strategies.sessions import SessionState
from papertape.trading.strategies.signals import iso_time

Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


@contextmanager
def cycles_not_collected() -> Iterator[None]:
    """The cyclic garbage collector paused for a run, and resumed as it was after it.

    A run keeps everything it makes (the log holds every event, each a struct of structs) and
    the engine's own objects form no cycles, so the collector finds nothing; but it walks the
    young objects every few hundred allocations and the whole growing log now and then: about
    a sixth of the CPU of a 200,000-bar run. Reference counting still frees everything the
    run drops; a cycle a user's strategy makes is collected when the run ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Backtest:
    """One session trading one account on the simulated venue, fed bars in time order."""

    def __init__(self, config: BacktestConfig) -> None:
        self.config = config
        self.log = MemoryLog(config.session_id)
        venue = msgspec.structs.replace(config.venue, bar_timeframe=str(config.timeframe))
        self.desk = Desk(config.account_id, venue, self.log, self._filled, self._expired)
        self.bot = Bot(strategies=self._strategy)
        self.bars = 0
        self._stream = session_stream(config.session_id)
        self._params = msgspec.convert(
            dict(config.parameters), config.strategy.params_type, strict=False
        )
        self._risk = risk_settings(config.mode, config.overrides)
        shorts = config.account_allow_short
        self.shorts = self._build(self._risk).allow_short if shorts is None else shorts

    @property
    def account(self) -> AccountState:
        return self.desk.account

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
        """Open the account and start the session at the first bar's start."""
        config, at = self.config, first.start
        account = self.desk.account_id
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
            self.desk.command(command, at, "start")
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
        with cycles_not_collected():
            for bar in bars:
                if not self.bars:
                    self.start(bar)
                self.on_bar(bar)
                if progress is not None and self.bars % PROGRESS_EVERY == 0:
                    progress(PROGRESS_EVERY)
        if progress is not None:
            progress(self.bars % PROGRESS_EVERY)

    def on_bar(self, bar: BarClosed) -> None:
        """One bar through the venue, the account's marks and the session (see the module)."""
        self.bars += 1
        cause = f"bar:{bar.symbol}:{iso_time(bar.start)}"
        desk = self.desk
        desk.market(bar, cause)
        events = self.bot.on_bar(bar, desk.room, bar.end)
        if not events:
            return
        self._session(events, cause, folded=True)
        resting = self.config.fill_at is FillAt.BAR_PATH
        for order in list(self.bot.state.requested.values()):
            command = place_order_of(order)
            if resting:
                command = resting_entry(command, order, events, bar.end + (bar.end - bar.start))
            placed = desk.command(command, bar.end, order.order_id)
            self._session([answer_from(order, placed, bar.end)], order.order_id)
        if self.config.fill_at is FillAt.CLOSE:
            desk.at_close(bar, cause)

    # --- the session -----------------------------------------------------------------------
    def _filled(self, fills: Sequence[OrderFilledV2], cause: str) -> None:
        state = self.bot.state
        recorded: list[BotEvent] = [
            fill_recorded(state.session_id, fill)
            for fill in fills
            if fill.order_id in state.orders and fill.fill_id not in state.fill_ids
        ]
        if recorded:
            self._session(recorded, cause)

    def _expired(self, expired: OrderExpired, cause: str) -> None:
        recorded = entry_expired(self.bot.state, expired)
        if recorded is not None:
            self._session([recorded], cause)

    def _session(self, events: list[BotEvent], cause: str, *, folded: bool = False) -> None:
        """Record the session's events, folding them into the bot unless ``on_bar`` did."""
        if not folded:
            self.bot.apply(events)
        self.log.append(self._stream, events, events[0].ts, cause)
