"""The bot session aggregate: ``decide(command, state, now) -> events``, ``evolve(state, event)``.

Transitions (anything else is refused with a ``SessionRefused`` naming the reason)::

    (none) --start, on an account portfolio knows--> RUNNING --pause--> PAUSED --resume--> RUNNING
    RUNNING | PAUSED --stop--> STOPPED
    RUNNING | PAUSED --runtime ended (``expire``)--> COMPLETED
    RUNNING | PAUSED --account halted / circuit breaker (``account_checked``)--> STOPPED
    RUNNING | PAUSED --an error (``failed``)--> ERROR

The state is a session's own and only ``evolve`` changes it, in place (it is returned too):
a session sees one event per bar and symbol, and copying its per-symbol tables each time would
cost more than the strategy itself. Live and rebuilt sessions run the same ``evolve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import ReplyErrorCode
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import (
    WARMUP_BARS,
    PauseSession,
    ResumeSession,
    RiskSettings,
    SessionCommand,
    SessionEvent,
    SessionFillRecorded,
    SessionOrderExpired,
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
    SessionPaused,
    SessionRefused,
    SessionResumed,
    SessionStarted,
    SessionStatus,
    SessionStopped,
    SessionWarmedUp,
    StartSession,
    StopSession,
    TradingMode,
)
from papertape.contract.events.signals import Decision, SignalEvent, SignalGenerated
from papertape.contract.ids import AccountId, Symbol
from papertape.trading.strategies.api import params_hash
from papertape.trading.strategies.modes import risk_settings
from papertape.trading.strategies.registry import (
    UnknownStrategy,
    normalized,
    parse_params,
)
from papertape.trading.strategies.trades import OUTSIDE, RoundTrips

ZERO = Decimal(0)
ENDED = frozenset({SessionStatus.STOPPED, SessionStatus.COMPLETED, SessionStatus.ERROR})

NO_ACCOUNT = AccountId("")
"""The account of a session that has not started."""


@dataclass
class SessionState:
    """Everything a session's stream says, folded."""

    session_id: str = ""
    account_id: AccountId = NO_ACCOUNT
    strategy: str = ""
    parameters: dict[str, int | bool | str] = field(default_factory=dict)
    params_hash: str = ""
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe = Timeframe.M1
    mode: TradingMode = TradingMode.BALANCED
    risk: RiskSettings | None = None
    runtime_minutes: int | None = None
    auto_execute: bool = True
    status: SessionStatus | None = None
    reason: str = ""
    error: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    version: int = 0
    warmed: dict[str, int] = field(default_factory=dict)
    """Per symbol, the history bars its strategy was warmed up with."""
    last_bar: dict[str, datetime] = field(default_factory=dict)
    """Per symbol, the start of the last bar evaluated: an older or equal one is a repeat."""
    signals: dict[str, int] = field(default_factory=dict)
    requested: dict[str, SessionOrderRequested] = field(default_factory=dict)
    """Orders asked for and not answered yet (sent again after a restart)."""
    orders: dict[str, str] = field(default_factory=dict)
    """Every order of the session (bracket legs included, by id) and its symbol."""
    orders_placed: int = 0
    orders_refused: int = 0
    orders_expired: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    entries: set[str] = field(default_factory=set)
    """Symbols with an entry placed and not filled yet (they count as open positions)."""
    entry_signals: dict[str, str] = field(default_factory=dict)
    """Entry orders that may still end unfilled -> their signal (until they fill or expire)."""
    positions: dict[str, Decimal] = field(default_factory=dict)
    """Signed quantities from the session's fills."""
    exits: dict[str, str] = field(default_factory=dict)
    """Orders that close a position (bracket legs and the session's closes) -> the reason."""
    round_trips: RoundTrips = field(default_factory=RoundTrips)
    fill_ids: set[str] = field(default_factory=set)
    """Fills recorded (a fill reported again is not counted twice)."""
    fills: int = 0
    trades: int = 0
    wins: int = 0
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    peak_pnl: Decimal = ZERO
    max_drawdown: Decimal = ZERO

    @property
    def started(self) -> bool:
        return self.status is not None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def open_positions(self) -> int:
        """Positions held or being entered (an entry asked for and not answered yet too)."""
        return len({s for s, q in self.positions.items() if q} | self.entries | self.entering())

    def entering(self) -> set[str]:
        """Symbols of entries asked for and not answered yet."""
        return {o.symbol for o in self.requested.values() if not o.reduce_only}

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, ZERO)


# --- deciding ------------------------------------------------------------------------------


def _account_of(state: SessionState, command: SessionCommand) -> AccountId | None:
    """The account a command's refusal names: the session's, else the one a start asked for."""
    if state.account_id:
        return state.account_id
    return command.account_id if isinstance(command, StartSession) else None


def _refused(
    state: SessionState, command: SessionCommand, code: str, message: str, now: datetime
) -> list[SessionEvent]:
    return [
        SessionRefused(
            session_id=command.session_id,
            ts=now,
            account_id=_account_of(state, command),
            command=message_name(type(command)),
            reason_code=code,
            message=message,
        )
    ]


def decide(
    command: SessionCommand, state: SessionState, now: datetime, *, account_opened: bool = True
) -> list[SessionEvent]:
    """The events a session command leads to (a refusal is an event too).

    ``account_opened``: whether the account a start names was ever opened (the service asks
    portfolio before deciding a start; the other commands ignore it).
    """
    sid = command.session_id
    if isinstance(command, StartSession):
        if state.started:
            return _refused(state, command, "session_exists", f"session {sid} exists", now)
        try:
            params = parse_params(command.strategy, command.parameters)
        except UnknownStrategy as error:
            return _refused(state, command, "unknown_strategy", str(error), now)
        except (ValueError, TypeError) as error:  # msgspec.ValidationError is a ValueError
            return _refused(state, command, "invalid_parameters", str(error), now)
        try:
            risk = risk_settings(command.mode, command.overrides)
        except (ValueError, TypeError) as error:
            return _refused(state, command, "invalid_overrides", str(error), now)
        if not account_opened:
            account = command.account_id
            message = f"no account {account!r}: open it before starting a session on it"
            return _refused(state, command, ReplyErrorCode.UNKNOWN_ACCOUNT, message, now)
        full = normalized(command.strategy, params)
        return [
            SessionStarted(
                session_id=sid,
                ts=now,
                account_id=command.account_id,
                strategy=command.strategy,
                parameters=full,
                params_hash=params_hash(command.strategy, full),
                symbols=tuple(dict.fromkeys(command.symbols)),
                timeframe=command.timeframe,
                mode=command.mode,
                risk=risk,
                runtime_minutes=command.runtime_minutes,
                auto_execute=command.auto_execute,
            )
        ]
    if not state.started:
        return _refused(state, command, "unknown_session", f"no session {sid}", now)
    if state.ended:
        return _refused(state, command, "session_ended", f"session {sid} is {state.status}", now)
    if isinstance(command, PauseSession):
        if state.status is SessionStatus.PAUSED:
            return []
        return [
            SessionPaused(
                session_id=sid, ts=now, account_id=state.account_id, reason=command.reason
            )
        ]
    if isinstance(command, ResumeSession):
        if state.status is SessionStatus.RUNNING:
            return []
        return [SessionResumed(session_id=sid, ts=now, account_id=state.account_id)]
    assert isinstance(command, StopSession)
    return [
        SessionStopped(
            session_id=sid,
            ts=now,
            account_id=state.account_id,
            status=SessionStatus.STOPPED,
            reason=command.reason or "stopped",
        )
    ]


def expire(state: SessionState, now: datetime) -> list[SessionEvent]:
    """COMPLETED once the runtime limit has passed (nothing otherwise)."""
    if state.ended or not state.started or state.runtime_minutes is None:
        return []
    assert state.started_at is not None
    end = state.started_at + timedelta(minutes=state.runtime_minutes)
    if now < end:
        return []
    return [
        SessionStopped(
            session_id=state.session_id,
            ts=now,
            account_id=state.account_id,
            status=SessionStatus.COMPLETED,
            reason=f"its runtime of {state.runtime_minutes} minutes ended",
        )
    ]


def account_checked(
    state: SessionState, *, halted: bool, halt_reason: str, circuit_breaker: bool, now: datetime
) -> list[SessionEvent]:
    """STOPPED when the account is halted or its circuit breaker tripped."""
    if state.ended or not state.started or not (halted or circuit_breaker):
        return []
    reason = (
        f"its account's trading is halted: {halt_reason}"
        if halted
        else "its account's circuit breaker tripped (daily loss limit)"
    )
    return [
        SessionStopped(
            session_id=state.session_id,
            ts=now,
            account_id=state.account_id,
            status=SessionStatus.STOPPED,
            reason=reason,
        )
    ]


def failed(state: SessionState, error: str, now: datetime) -> list[SessionEvent]:
    """ERROR, with the error (a session that cannot go on says why)."""
    if state.ended or not state.started:
        return []
    return [
        SessionStopped(
            session_id=state.session_id,
            ts=now,
            account_id=state.account_id,
            status=SessionStatus.ERROR,
            reason="the session failed",
            error=error[:1000],
        )
    ]


def warmed_up(
    state: SessionState, symbol: str, history: Sequence[BarClosed], now: datetime
) -> list[SessionEvent]:
    """A symbol's warm-up from the market's bar history: the session's bars of the symbol
    that had closed by ``now``, oldest first, before any live bar of it (nothing after one:
    a strategy sees its bars in order)."""
    if not state.started or state.ended or symbol not in state.symbols:
        return []
    if symbol in state.last_bar:
        return []
    bars = sorted(
        {
            b.start: b
            for b in history
            if b.symbol == symbol and b.timeframe == state.timeframe and b.end <= now
        }.values(),
        key=lambda b: b.start,
    )[-WARMUP_BARS:]
    if not bars:
        return []
    return [
        SessionWarmedUp(
            session_id=state.session_id,
            ts=now,
            account_id=state.account_id,
            symbol=Symbol(symbol),
            timeframe=state.timeframe,
            bars=tuple(bars),
        )
    ]


# --- evolving ------------------------------------------------------------------------------


def evolve(state: SessionState, event: SessionEvent | SignalEvent) -> SessionState:
    """Fold one event of the session's stream into its state."""
    state.version += 1
    if isinstance(event, SignalGenerated):
        state.last_bar[event.symbol] = event.bar.start
        key = str(event.decision)
        state.signals[key] = state.signals.get(key, 0) + 1
        if event.decision.closes:
            state.entries.discard(event.symbol)
    elif isinstance(event, SessionOrderRequested):
        state.requested[event.order_id] = event
        for leg in (event.order_id, f"{event.order_id}-sl", f"{event.order_id}-tp"):
            state.orders[leg] = event.symbol
        if event.reduce_only:
            state.exits[event.order_id] = str(event.decision)
        else:
            state.entry_signals[event.order_id] = event.signal_id
            state.exits[f"{event.order_id}-sl"] = str(Decision.STOP_LOSS)
            state.exits[f"{event.order_id}-tp"] = str(Decision.TAKE_PROFIT)
    elif isinstance(event, SessionOrderPlaced):
        placed = state.requested.pop(event.order_id, None)
        state.orders_placed += 1
        if placed is not None and not placed.reduce_only:
            state.entries.add(placed.symbol)
    elif isinstance(event, SessionOrderRefused):
        refused = state.requested.pop(event.order_id, None)
        state.entry_signals.pop(event.order_id, None)
        state.orders_refused += 1
        state.refusals[event.reason_code] = state.refusals.get(event.reason_code, 0) + 1
        if refused is not None and not refused.reduce_only:
            state.entries.discard(refused.symbol)
    elif isinstance(event, SessionOrderExpired):
        state.orders_expired += 1
        state.requested.pop(event.order_id, None)
        state.entry_signals.pop(event.order_id, None)
        symbol = state.orders.get(event.order_id)
        if symbol is not None and not state.position(symbol):
            state.entries.discard(symbol)  # the entry never filled: nothing is being entered
    elif isinstance(event, SessionFillRecorded):
        _filled(state, event)
    elif isinstance(event, SessionStarted):
        state.session_id = event.session_id
        state.account_id = event.account_id
        state.strategy = event.strategy
        state.parameters = dict(event.parameters)
        state.params_hash = event.params_hash
        state.symbols = event.symbols
        state.timeframe = event.timeframe
        state.mode = event.mode
        state.risk = event.risk
        state.runtime_minutes = event.runtime_minutes
        state.auto_execute = event.auto_execute
        state.status = SessionStatus.RUNNING
        state.started_at = event.ts
    elif isinstance(event, SessionPaused):
        state.status, state.reason = SessionStatus.PAUSED, event.reason
    elif isinstance(event, SessionResumed):
        state.status, state.reason = SessionStatus.RUNNING, ""
    elif isinstance(event, SessionStopped):
        state.status, state.reason, state.error = event.status, event.reason, event.error
        state.ended_at = event.ts
    elif isinstance(event, SessionWarmedUp) and event.symbol not in state.last_bar:
        state.last_bar[event.symbol] = event.bars[-1].start  # live bars come after these
        state.warmed[event.symbol] = len(event.bars)
    return state


def _filled(state: SessionState, fill: SessionFillRecorded) -> None:
    if fill.fill_id in state.fill_ids:
        return
    state.fill_ids.add(fill.fill_id)
    if state.entry_signals:
        state.entry_signals.pop(fill.order_id, None)  # filled (in part): it entered
    state.round_trips.on_fill(fill, state.exits.get(fill.order_id, OUTSIDE))
    sign = 1 if fill.side is OrderSide.BUY else -1
    position = state.position(fill.symbol) + sign * fill.quantity
    state.positions[fill.symbol] = position
    state.entries.discard(fill.symbol)
    state.fills += 1
    state.fees += fill.fee
    if fill.realized_pnl:
        state.trades += 1
        state.wins += fill.realized_pnl > 0
    state.realized_pnl += fill.realized_pnl - fill.fee
    state.peak_pnl = max(state.peak_pnl, state.realized_pnl)
    state.max_drawdown = max(state.max_drawdown, state.peak_pnl - state.realized_pnl)
