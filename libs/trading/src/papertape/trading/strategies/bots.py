"""A bot: one session's state, its strategy (one per symbol) and its signals awaiting an outcome.

Live, ``on_bar`` evaluates a bar and returns the events it leads to, already folded in:
outcomes of earlier signals the bar settles, the bar's signal, and the orders to ask portfolio
for. Rebuilt, ``replay`` folds the events of the session's stream in order, feeding each
signal's recorded bar to its strategy again, so the strategy's indicators and beliefs come back
exactly as they were (the strategies are deterministic).

A setup the session does not take (confidence below the mode's minimum, as many open
positions as allowed, no size, paused) is recorded as SKIP with the reason, and the strategy
is told it holds nothing: the same rule runs live and on replay (the recorded decision says).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.market import BarClosed
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import (
    SessionEvent,
    SessionFillRecorded,
    SessionOrderExpired,
    SessionOrderRefused,
    SessionOrderRequested,
    SessionStatus,
    SessionWarmedUp,
)
from papertape.contract.events.signals import (
    Decision,
    SignalEvent,
    SignalGenerated,
    SignalOutcomeRecorded,
)
from papertape.contract.ids import OrderId
from papertape.contract.instruments import instrument_for
from papertape.trading.strategies.api import Evaluation, Strategy
from papertape.trading.strategies.calibration import (
    DEFAULT_HORIZON,
    Pending,
    actionable,
    outcome_on,
)
from papertape.trading.strategies.registry import build, parse_params
from papertape.trading.strategies.sessions import SessionState, evolve
from papertape.trading.strategies.signals import order_id, signal_of
from papertape.trading.strategies.sizing import AccountRoom, order_quantity

BotEvent = SessionEvent | SignalEvent
StrategyFactory = Callable[[SessionState], Strategy]
"""Builds a session's strategy for one symbol (a backtest's own class, or long/short)."""
Room = AccountRoom | Callable[[], AccountRoom | None] | None
"""The account's room, or how to find it when an order needs sizing (a backtest asks then)."""


def built_in(state: SessionState) -> Strategy:
    """The session's built-in strategy, as the signal service runs it."""
    assert state.risk is not None
    return build(state.strategy, parse_params(state.strategy, state.parameters), state.risk)


class Bot:
    """One bot session, live or rebuilt."""

    def __init__(
        self, *, horizon: int = DEFAULT_HORIZON, strategies: StrategyFactory = built_in
    ) -> None:
        self.state = SessionState()
        self.horizon = horizon
        self._build = strategies
        self.strategies: dict[str, Strategy] = {}
        self.pending: dict[str, list[Pending]] = {}
        self._symbol_set: frozenset[str] | None = None
        self._entries: dict[str, tuple[str, int]] = {}
        """Entry order id -> (symbol, side), to tell its strategy of its fills."""

    # --- strategies ------------------------------------------------------------------------
    def strategy(self, symbol: str) -> Strategy:
        found = self.strategies.get(symbol)
        if found is None:
            found = self.strategies[symbol] = self._build(self.state)
        return found

    def wants(self, bar: BarClosed) -> bool:
        """Whether the bar is new to this session and of its symbols and timeframe."""
        state = self.state
        if not state.started or state.ended or bar.timeframe != state.timeframe:
            return False
        if bar.symbol not in self._symbols(state.symbols):
            return False
        last = state.last_bar.get(bar.symbol)
        return last is None or bar.start > last

    def _symbols(self, symbols: tuple[str, ...]) -> frozenset[str]:
        # A session's symbols are fixed when it starts (wants() asks only of a started one).
        if self._symbol_set is None:
            self._symbol_set = frozenset(symbols)
        return self._symbol_set

    # --- live ------------------------------------------------------------------------------
    def on_bar(self, bar: BarClosed, room: Room, now: datetime) -> list[BotEvent]:
        """The events a closed bar leads to, folded into the bot ([] for a bar it ignores)."""
        if not self.wants(bar):
            return []
        state = self.state
        waiting = self.pending.get(bar.symbol)
        events: list[BotEvent] = (
            [
                outcome
                for pending in waiting
                if (outcome := outcome_on(pending, bar, self.horizon)) is not None
            ]
            if waiting
            else []
        )
        evaluation = self.strategy(bar.symbol).on_bar(bar)
        signal = signal_of(
            evaluation,
            bar,
            session_id=state.session_id,
            account_id=state.account_id,
            strategy=state.strategy,
            params_hash=state.params_hash,
        )
        signal, orders = self._orders(signal, room, now)
        events.append(signal)
        events.extend(orders)
        for event in events:
            self._fold(event, evaluation if event is signal else None)
        return events

    def _orders(
        self, signal: SignalGenerated, room: Room, now: datetime
    ) -> tuple[SignalGenerated, list[SessionEvent]]:
        state = self.state
        if not state.auto_execute:
            return signal, []
        decision = signal.decision
        opens = decision.opens
        held = state.position(signal.symbol)
        opens = decision.opens
        if not held and not opens:  # most bars: nothing held to close, nothing to open
            return signal, []
        orders: list[SessionEvent] = []
        reverses = opens and (held > 0) != (decision is Decision.BUY)
        if held and (decision is Decision.CLOSE or reverses):
            orders.append(self._request(signal, "close", -held, reduce_only=True))
        if not opens:
            return signal, orders
        if state.status is SessionStatus.PAUSED:
            return self._skip(signal, "the session is paused"), orders
        assert state.risk is not None
        if signal.confidence < state.risk.min_confidence:
            minimum = state.risk.min_confidence
            why = f"confidence {signal.confidence} is below the session's minimum of {minimum}"
            return self._skip(signal, why), orders
        opening = not held and signal.symbol not in state.entries | state.entering()
        if opening and state.open_positions() >= state.risk.max_open_positions:
            why = f"{state.open_positions()} positions are open, the most the session allows"
            return self._skip(signal, why), orders
        if callable(room):
            room = room()
        if room is None:
            return self._skip(signal, "the account's equity is not known yet"), orders
        assert signal.entry is not None
        quantity = order_quantity(
            state.risk,
            instrument_for(signal.symbol),
            room,
            entry=signal.entry,
            stop=signal.stop,
            confidence=signal.confidence,
        )
        if quantity <= 0:
            return self._skip(signal, "the size comes to less than one lot"), orders
        sign = 1 if decision is Decision.BUY else -1
        orders.append(self._request(signal, "entry", sign * quantity))
        return signal, orders

    def _skip(self, signal: SignalGenerated, why: str) -> SignalGenerated:
        return msgspec.structs.replace(
            signal,
            decision=Decision.SKIP,
            opportunity_score=0,
            reasoning=f"{signal.decision} not taken: {why}; {signal.reasoning}"[:1000],
        )

    def _request(
        self, signal: SignalGenerated, leg: str, signed: Decimal, *, reduce_only: bool = False
    ) -> SessionOrderRequested:
        entry = leg == "entry"
        return SessionOrderRequested(
            session_id=signal.session_id,
            ts=signal.ts,
            signal_id=signal.signal_id,
            order_id=OrderId(order_id(signal, leg)),
            account_id=signal.account_id,
            symbol=signal.symbol,
            side=OrderSide.BUY if signed > 0 else OrderSide.SELL,
            quantity=abs(signed),
            decision=signal.decision,
            stop_loss=signal.stop if entry else None,
            take_profit=signal.targets[0] if entry and signal.targets else None,
            reduce_only=reduce_only,
        )

    def apply(self, events: Iterable[BotEvent]) -> None:
        """Fold events that happened since (portfolio's answers, fills, lifecycle)."""
        for event in events:
            self._fold(event, None)

    # --- rebuilt ---------------------------------------------------------------------------
    def replay(self, event: BotEvent) -> None:
        """Fold one recorded event; a signal's bar goes to its strategy again."""
        evaluation = None
        if isinstance(event, SignalGenerated):
            evaluation = self.strategy(event.symbol).on_bar(event.bar)
        self._fold(event, evaluation)

    # --- folding ---------------------------------------------------------------------------
    def _fold(self, event: BotEvent, evaluation: Evaluation | None) -> None:
        if isinstance(event, SignalGenerated):  # most of a session's events: asked first
            evolve(self.state, event)
            if evaluation is not None and evaluation.decision.opens and not event.decision.opens:
                self.strategy(event.symbol).flat()  # a setup the session did not take
            pending = self.pending.setdefault(event.symbol, [])
            for waiting in pending:
                waiting.bars += 1
            if actionable(event):
                pending.append(Pending(event))
            return
        fresh = isinstance(event, SessionWarmedUp) and event.symbol not in self.state.last_bar
        evolve(self.state, event)
        if isinstance(event, SessionWarmedUp):
            if fresh:
                self._warm(event)
        elif isinstance(event, SignalOutcomeRecorded):
            left = self.pending.get(event.symbol, [])
            self.pending[event.symbol] = [p for p in left if p.signal.signal_id != event.signal_id]
        elif isinstance(event, SessionOrderRequested) and not event.reduce_only:
            self._entries[event.order_id] = (event.symbol, 1 if event.side is OrderSide.BUY else -1)
        elif isinstance(event, SessionOrderRefused):
            entry = self._entries.pop(event.order_id, None)
            if entry is not None:
                self.strategy(entry[0]).flat()
        elif isinstance(event, SessionOrderExpired):
            entry = self._entries.pop(event.order_id, None)
            if entry is not None and not self.state.position(entry[0]):
                self.strategy(entry[0]).flat()  # the entry never filled
        elif isinstance(event, SessionFillRecorded):
            self._filled(event)

    def _warm(self, warm_up: SessionWarmedUp) -> None:
        """Feed the history to the symbol's strategy; what it would have held is not held."""
        strategy = self.strategy(warm_up.symbol)
        for bar in warm_up.bars:
            strategy.on_bar(bar)
        strategy.flat()

    def _filled(self, fill: SessionFillRecorded) -> None:
        entry = self._entries.get(fill.order_id)
        strategy = self.strategy(fill.symbol)
        if entry is not None:
            strategy.on_fill(entry[1], float(fill.price))
        elif not self.state.position(fill.symbol):
            strategy.flat()  # a bracket leg or a close emptied the position
