"""The session book: every bot session, rebuilt from its stream in the log, changed only through it.

One writer per session: a session's events are decided under its lock against the state its
stream gives, and appended with the stream's version as the optimistic-concurrency check. A
bar's events are folded into the bot as they are decided (the strategy has moved already); when
the append fails the bot is rebuilt from the log and the bar is handled again on redelivery.

Event ids are derived, never drawn: a signal's is its signal id (from the session, symbol,
timeframe and bar), an outcome's, an order request's and its answer's come from the signal and
order ids, a fill's from the fill id, a command's events from its request id. So a bar, a fill
or a command handled twice (a redelivery, a restart between append and acknowledgement) finds
its events in the log already, and the bot (which saw them when it was rebuilt) decides nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import repeat
from types import MappingProxyType
from typing import Any

from papertape.common.clock import Clock
from papertape.common.eventlog import EventLog, Metadata, NewEvent, decode_envelope
from papertape.contract.codec import Codec, encode
from papertape.contract.events.base import message_name, schema_version
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import (
    SESSION_STREAM_PREFIX,
    SessionCommand,
    SessionEvent,
    SessionFillRecorded,
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
    SessionRefused,
    SessionStopped,
    SessionWarmedUp,
    session_stream,
)
from papertape.contract.events.signals import SignalEvent, SignalGenerated, SignalOutcomeRecorded
from papertape.contract.ids import (
    Actor,
    CausationId,
    CorrelationId,
    EventId,
    StreamId,
    derived_uuid7,
)
from papertape.trading.strategies.bots import Bot, BotEvent
from papertape.trading.strategies.sessions import decide
from papertape.trading.strategies.sizing import AccountRoom

ACTOR = Actor("signals")
_NONE: Mapping[str, Bot] = MappingProxyType({})
session_events: Codec[SessionEvent | SignalEvent] = Codec(SessionEvent | SignalEvent)


def event_id(event: BotEvent, fallback: str) -> str:
    """The derived id of a session's event (see the module docstring)."""
    if isinstance(event, SignalGenerated):  # most of a session's events: first, and no hash
        return event.signal_id
    ms = int(event.ts.timestamp() * 1000)
    if isinstance(event, SignalOutcomeRecorded):
        return derived_uuid7(f"outcome:{event.signal_id}", ms)
    if isinstance(event, SessionOrderRequested):
        return derived_uuid7(f"requested:{event.order_id}", ms)
    if isinstance(event, SessionOrderPlaced | SessionOrderRefused):
        return derived_uuid7(f"answered:{event.order_id}", ms)
    if isinstance(event, SessionFillRecorded):
        return derived_uuid7(f"fill:{event.fill_id}", ms)
    if isinstance(event, SessionStopped):
        return derived_uuid7(f"stopped:{event.session_id}", ms)
    if isinstance(event, SessionWarmedUp):
        return derived_uuid7(f"warmed:{event.session_id}:{event.symbol}", ms)
    return derived_uuid7(fallback, ms)


class SignalHistory:
    """The latest ``size`` signals of every session and the latest ``size`` outcomes (newest
    last), for the history and calibration queries (the log keeps them all)."""

    def __init__(self, size: int) -> None:
        self.signals: deque[SignalGenerated] = deque(maxlen=size)
        self.outcomes: deque[SignalOutcomeRecorded] = deque(maxlen=size)

    def remember(self, events: Iterable[BotEvent]) -> None:
        for event in events:
            if isinstance(event, SignalGenerated):
                self.signals.append(event)
            elif isinstance(event, SignalOutcomeRecorded):
                self.outcomes.append(event)


class SessionBook:
    """Every bot session with the version of its stream."""

    def __init__(self, log: EventLog, clock: Clock, *, horizon: int, history: int) -> None:
        self._log = log
        self._clock = clock
        self._horizon = horizon
        self.bots: dict[str, Bot] = {}
        self.history = SignalHistory(history)
        self.orders: dict[str, str] = {}
        """Every order (and bracket leg) a session asked for -> the session's id."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._by_bar: dict[tuple[str, str], dict[str, Bot]] = {}
        """(timeframe, symbol) -> the sessions trading it that have not ended, by id."""
        self._bars_of: dict[str, tuple[tuple[str, str], ...]] = {}
        """Session id -> the keys of ``_by_bar`` it is under."""

    def lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    # --- rebuilding ------------------------------------------------------------------------
    async def load(self, session_id: str, *, remember: bool = False) -> Bot:
        """Rebuild one session from its stream (``remember``: its signals join the history)."""
        bot = Bot(horizon=self._horizon)
        async for batch in self._log.read_stream(session_stream(session_id)):
            for recorded in batch:
                event = decode_envelope(recorded, session_events).data
                bot.replay(event)
                if remember:
                    self.history.remember((event,))
        self._index(bot)
        return bot

    async def load_all(self) -> tuple[int, int]:
        """Rebuild every session; (sessions, events)."""
        events = 0
        for info in await self._log.list_streams(SESSION_STREAM_PREFIX):
            session_id = info.stream_id.removeprefix(SESSION_STREAM_PREFIX)
            bot = await self.load(session_id, remember=True)
            events += bot.state.version
        return len(self.bots), events

    def _index(self, bot: Bot) -> None:
        """(Re)file one session: under its bars while it has not ended (the others untouched,
        so rebuilding n sessions files each once)."""
        state = bot.state
        if not state.session_id:
            return
        session_id = state.session_id
        self.bots[session_id] = bot
        for order_id in state.orders:
            self.orders[order_id] = session_id
        self._unindex(session_id)
        if state.ended:
            return
        keys = tuple((str(state.timeframe), symbol) for symbol in state.symbols)
        for key in keys:
            self._by_bar.setdefault(key, {})[session_id] = bot
        self._bars_of[session_id] = keys

    def _unindex(self, session_id: str) -> None:
        for key in self._bars_of.pop(session_id, ()):
            trading = self._by_bar[key]
            del trading[session_id]
            if not trading:
                del self._by_bar[key]

    def for_bar(self, bar: BarClosed) -> Collection[Bot]:
        """The sessions that trade this bar's symbol and timeframe (and have not ended)."""
        return self._by_bar.get((str(bar.timeframe), bar.symbol), _NONE).values()

    def running(self) -> list[Bot]:
        return [bot for bot in self.bots.values() if bot.state.started and not bot.state.ended]

    # --- changing --------------------------------------------------------------------------
    def refused_whatever_the_account(self, command: SessionCommand) -> bool:
        """Whether a new session's start is refused for something of its own (its strategy,
        parameters or overrides) whatever portfolio says of its account: then portfolio need
        not be asked, and a portfolio that does not answer does not hide the refusal."""
        fresh = Bot(horizon=self._horizon).state
        events = decide(command, fresh, self._clock.now())
        return bool(events) and isinstance(events[0], SessionRefused)

    async def execute(
        self, request: Request[SessionCommand], *, account_opened: bool = True
    ) -> tuple[Bot, list[Envelope[Any]]]:
        """Decide a session command and record its events (a refusal is recorded too, but for
        a session that never started); ``account_opened``: as portfolio told of a start's."""
        session_id = request.body.session_id
        async with self.lock(session_id):
            bot = self.bots.get(session_id) or Bot(horizon=self._horizon)
            events = decide(
                request.body, bot.state, self._clock.now(), account_opened=account_opened
            )
            if not events:
                return bot, []
            if not bot.state.started and isinstance(events[0], SessionRefused):
                # No stream for a session that never started: the refusal is only the answer.
                return bot, [self._envelopes(bot, 0, events, request.request_id)[0]]
            base = bot.state.version
            bot.apply(events)
            envelopes = await self._append(bot, base, events, request.request_id)
            self._index(bot)
            return bot, envelopes

    async def on_bars(
        self, bot: Bot, bars: Sequence[BarClosed], room: AccountRoom | None, now: datetime
    ) -> list[BotEvent]:
        """Evaluate bars for a session, in order, and record what they led to in one append;
        the events recorded."""
        async with self.lock(bot.state.session_id):
            base = bot.state.version
            events: list[BotEvent] = []
            keys: list[str] = []  # each event's cause: its bar's symbol, as one at a time
            for bar in bars:
                found = bot.on_bar(bar, room, now)
                events += found
                keys.extend(repeat(bar.symbol, len(found)))
            if events:
                await self._write(bot, base, events, keys)
            return events

    async def record(self, bot: Bot, events: Sequence[BotEvent], key: str) -> list[Envelope[Any]]:
        """Record events that happened to a session (portfolio's answers, fills, self-stops).

        An answer to an order that is no longer asked for (answered already, by a send that
        ran at the same time) is dropped: each order has one answer in the stream.
        """
        if not events:
            return []
        async with self.lock(bot.state.session_id):
            events = [
                e
                for e in events
                if not isinstance(e, SessionOrderPlaced | SessionOrderRefused)
                or e.order_id in bot.state.requested
            ]
            if not events:
                return []
            base = bot.state.version
            bot.apply(events)
            envelopes = await self._append(bot, base, events, key)
            if any(isinstance(e, SessionStopped) for e in events):
                self._index(bot)
            return envelopes

    def _envelopes(
        self, bot: Bot, base: int, events: Sequence[BotEvent], key: str
    ) -> list[Envelope[Any]]:
        session_id = bot.state.session_id or events[0].session_id
        stream = session_stream(session_id)
        return [
            Envelope(
                event_id=EventId(event_id(event, f"{key}:{base + i}")),
                stream_id=StreamId(stream),
                stream_version=base + i + 1,
                occurred_at=event.ts,
                correlation_id=CorrelationId(session_id),
                causation_id=CausationId(key) if key else None,
                actor=ACTOR,
                data=event,
            )
            for i, event in enumerate(events)
        ]

    def _new_events(
        self, session_id: str, base: int, events: Sequence[BotEvent], keys: Sequence[str]
    ) -> list[NewEvent]:
        """What the log stores of the events (``keys``: each one's cause): the same bytes
        ``new_event`` makes of their envelopes, each metadata encoded once (a batch's bars
        share a few minutes and symbols)."""
        correlation = CorrelationId(session_id)
        metadata: dict[tuple[datetime, str], bytes] = {}
        names: dict[type[BotEvent], tuple[str, int]] = {}
        stored = []
        for i, (event, key) in enumerate(zip(events, keys, strict=True)):
            meta = metadata.get((event.ts, key))
            if meta is None:
                meta = metadata[event.ts, key] = encode(
                    Metadata(
                        occurred_at=event.ts,
                        correlation_id=correlation,
                        causation_id=CausationId(key) if key else None,
                        actor=ACTOR,
                    )
                )
            kind = type(event)
            named = names.get(kind)
            if named is None:
                named = names[kind] = (message_name(kind), schema_version(kind))
            stored.append(
                NewEvent(
                    event_id=(
                        event.signal_id
                        if isinstance(event, SignalGenerated)
                        else event_id(event, f"{key}:{base + i}")
                    ),
                    type=named[0],
                    schema_version=named[1],
                    data=encode(event),
                    metadata=meta,
                )
            )
        return stored

    async def _write(
        self, bot: Bot, base: int, events: Sequence[BotEvent], keys: str | Sequence[str]
    ) -> None:
        session_id = bot.state.session_id or events[0].session_id
        stream = session_stream(session_id)
        if isinstance(keys, str):
            keys = [keys] * len(events)
        stored = self._new_events(session_id, base, events, keys)
        try:
            await self._log.append(stream, base, stored)
        except Exception:
            # The bot moved before the log did: take it back to what the log holds.
            rebuilt = await self.load(session_id)
            if not rebuilt.state.session_id:
                self.bots.pop(session_id, None)
                self._unindex(session_id)
            raise
        self.history.remember(events)
        for event in events:
            if isinstance(event, SessionOrderRequested):
                for leg in (event.order_id, f"{event.order_id}-sl", f"{event.order_id}-tp"):
                    self.orders[leg] = session_id

    async def _append(
        self, bot: Bot, base: int, events: Sequence[BotEvent], key: str
    ) -> list[Envelope[Any]]:
        await self._write(bot, base, events, key)
        return self._envelopes(bot, base, events, key)


def event_name(event: BotEvent) -> str:
    return message_name(type(event))
