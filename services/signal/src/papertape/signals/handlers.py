"""Bus handlers of the signal service: decode, hand to the session book, answer. No rules here.

``Pipeline`` is the handler path a bar takes (also what ``bench`` measures): decode the bar,
let every session that trades it evaluate it (signal, outcomes, order requests, appended to the
session's stream), then send the session's unanswered orders to portfolio and record the
answers. The same path runs for a fill (or an entry's expiry) from ACCOUNTS, and on the clock:
runtime limits, the accounts' equity and halts, and orders portfolio could not answer before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from faststream.nats import JStream, NatsMessage, PullSub
from nats.js.api import DeliverPolicy

from papertape.common.clock import Clock
from papertape.common.runtime import ServiceRuntime
from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.account import (
    AccountEvent,
    OrderExpired,
    OrderFilled,
    OrderFilledV2,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope, Reply, ReplyErrorCode, Request
from papertape.contract.events.market import BarClosed
from papertape.contract.events.reports import AccountSummary
from papertape.contract.events.sessions import (
    WARMUP_BARS,
    SessionCommand,
    SessionRefused,
    SessionStarted,
    SignalsQuery,
    StartSession,
)
from papertape.signals.book import SessionBook
from papertape.signals.market import MarketGateway
from papertape.signals.portfolio import Marks, PortfolioAway, PortfolioGateway, room_of
from papertape.signals.queries import UnknownSession, answer, view
from papertape.signals.settings import SignalSettings
from papertape.trading.strategies.bots import Bot, BotEvent
from papertape.trading.strategies.requests import entry_expired, fill_recorded
from papertape.trading.strategies.sessions import account_checked, expire, warmed_up
from papertape.trading.strategies.sizing import AccountRoom

bars: Codec[BarClosed] = Codec(BarClosed)
WARM_TRIES = 60
"""Clock ticks a new session asks again for history it did not find (about a minute)."""
account_events: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
command_requests: Codec[Request[SessionCommand]] = Codec(Request[SessionCommand])
query_requests: Codec[Request[SignalsQuery]] = Codec(Request[SignalsQuery])


class Pipeline:
    """Bars, fills and the clock through the session book, and orders out to portfolio."""

    def __init__(
        self, book: SessionBook, clock: Clock, portfolio: PortfolioGateway | None = None
    ) -> None:
        self.book = book
        self.clock = clock
        self.portfolio = portfolio
        """Set once connected: until then orders wait (they stay asked for in the log)."""
        self.rooms: dict[str, AccountRoom] = {}
        """Each account's equity and limits as last seen (sizing needs them)."""
        self.marks: dict[str, Marks] = {}
        """Each account's marks as last read (the sessions' unrealized P&L)."""
        self.market: MarketGateway | None = None
        """Set once connected: bar history to warm new sessions up with."""
        self.warmup_bars = WARMUP_BARS
        self._warm_tries: dict[str, int] = {}
        """Sessions still waiting for bar history to warm up with, and how often they asked."""
        self._sending: set[str] = set()
        """Orders on their way to portfolio: the bar handler and the clock never both send."""
        self.bars = 0

    async def on_bar(self, data: bytes) -> list[BotEvent]:
        """A closed bar: every session trading it evaluates it; its orders go out."""
        return await self.on_bars((data,))

    async def on_bars(self, batch: Sequence[bytes]) -> list[BotEvent]:
        """Closed bars, in the order they came: each session evaluates its bars in that order
        and records what they led to in one append (the sessions' appends run together, so
        PostgreSQL commits them as one group); then the sessions' orders go out. Returns what
        the sessions recorded of the bars (their answers from portfolio left out)."""
        decoded = [bars.decode(data) for data in batch]  # a malformed bar fails the batch first
        self.bars += len(decoded)
        now = self.clock.now()
        work: dict[str, tuple[Bot, list[BarClosed]]] = {}
        for bar in decoded:
            for bot in self.book.for_bar(bar):
                found = work.get(bot.state.session_id)
                if found is None:  # not setdefault: it would build a pair per bar and session
                    found = work[bot.state.session_id] = (bot, [])
                found[1].append(bar)
        appended = await asyncio.gather(
            *(
                self.book.on_bars(bot, its_bars, self.rooms.get(bot.state.account_id), now)
                for bot, its_bars in work.values()
            ),
            return_exceptions=True,  # every append ends before the batch is retried
        )
        for outcome in appended:
            if isinstance(outcome, BaseException):
                raise outcome
        ordering = [bot for bot, _ in work.values() if bot.state.requested]
        if ordering:
            await asyncio.gather(*(self.send_orders(bot) for bot in ordering))
        return [e for events in appended if isinstance(events, list) for e in events]

    async def execute(self, request: Request[SessionCommand]) -> tuple[Bot, list[Envelope[Any]]]:
        """Decide a session command; a new session's start once portfolio has said whether its
        account was ever opened (``PortfolioAway`` when it did not answer: nothing decided),
        unless the start is refused for its own parameters anyway (told so at once)."""
        command = request.body
        opened = True
        if (
            isinstance(command, StartSession)
            and command.session_id not in self.book.bots
            and not self.book.refused_whatever_the_account(command)
        ):
            if self.portfolio is None:
                raise PortfolioAway("not connected to portfolio yet")
            summary = await self.portfolio.summary(command.account_id, self.clock.now())
            opened = summary is not None
        return await self.book.execute(request, account_opened=opened)

    async def warm_up(self, bot: Bot) -> None:
        """Warm the session's strategies up with the market's bar history, each symbol that
        has seen no live bar yet (recorded, so a rebuilt session is warmed the same way)."""
        if self.market is None or not self.warmup_bars:
            return
        state = bot.state
        now = self.clock.now()
        for symbol in state.symbols:
            if symbol in state.last_bar or bot.state.ended:
                continue
            history = await self.market.bars(symbol, state.timeframe, now, self.warmup_bars)
            await self.book.record(bot, warmed_up(bot.state, symbol, history, now), "warm-up")

    async def send_orders(self, bot: Bot) -> None:
        """Ask portfolio for the session's unanswered orders; record each answer."""
        if self.portfolio is None:
            return
        for order in list(bot.state.requested.values()):
            if order.order_id in self._sending:
                continue
            self._sending.add(order.order_id)
            try:
                answered = await self.portfolio.place(order, self.clock.now())
                await self.book.record(bot, [answered], order.order_id)
            except PortfolioAway:
                return  # asked again on the clock
            finally:
                self._sending.discard(order.order_id)

    async def on_account_event(self, data: bytes) -> None:
        """An account event: a fill of a session's order, or the expiry of its entry, is
        recorded against the session."""
        envelope = account_events.decode(data)
        fill = upcast(envelope.data)  # a stored v1 fill reads as the current version
        if isinstance(fill, OrderExpired):
            await self._expired(fill)
            return
        if not isinstance(fill, OrderFilledV2):
            return
        session_id = self.book.orders.get(fill.order_id)
        bot = self.book.bots.get(session_id or "")
        if bot is None or fill.fill_id in bot.state.fill_ids:
            return
        recorded = fill_recorded(bot.state.session_id, fill)
        await self.book.record(bot, [recorded], fill.fill_id)

    async def _expired(self, expired: OrderExpired) -> None:
        bot = self.book.bots.get(self.book.orders.get(expired.order_id) or "")
        if bot is None:
            return
        recorded = entry_expired(bot.state, expired)  # None again once recorded
        if recorded is not None:
            await self.book.record(bot, [recorded], f"{expired.order_id}:expired")

    async def on_clock(self) -> None:
        """Runtime limits, orders portfolio did not answer before, and warm-ups that found
        no history yet (market-data starting, or no bars stored yet; asked for a while)."""
        now = self.clock.now()
        for bot in self.book.running():
            await self.book.record(bot, expire(bot.state, now), "clock")
            await self.send_orders(bot)
            session_id = bot.state.session_id
            tries = self._warm_tries.get(session_id)
            if tries is not None:
                await self.warm_up(bot)
                cold = [s for s in bot.state.symbols if s not in bot.state.last_bar]
                if not cold or tries >= WARM_TRIES:
                    del self._warm_tries[session_id]
                else:
                    self._warm_tries[session_id] = tries + 1

    async def start_warm_up(self, bot: Bot) -> None:
        """A new session: warm it up now, and on the clock while history is missing."""
        await self.warm_up(bot)
        if any(s not in bot.state.last_bar for s in bot.state.symbols):
            self._warm_tries[bot.state.session_id] = 1

    async def check_accounts(self) -> None:
        """Each running session's account: equity for sizing, marks for the open trades'
        P&L; a halt or breaker stops it."""
        if self.portfolio is None:
            return
        now = self.clock.now()
        seen: dict[str, AccountSummary | None] = {}
        marked: set[str] = set()
        for bot in self.book.running():
            account = bot.state.account_id
            if account not in seen:
                seen[account] = await self.portfolio.summary(account, now)
            summary = seen[account]
            if summary is None:
                continue
            self.rooms[account] = room_of(summary)
            if bot.state.round_trips.open and account not in marked:
                self.marks[account] = await self.portfolio.marks(account, now)
                marked.add(account)
            stop = account_checked(
                bot.state,
                halted=summary.halted,
                halt_reason=summary.halt_reason,
                circuit_breaker=summary.circuit_breaker_tripped,
                now=now,
            )
            await self.book.record(bot, stop, "account")


async def follow_bars(
    runtime: ServiceRuntime, pipeline: Pipeline, settings: SignalSettings
) -> None:
    """The bars of ``md.bar.>`` on MARKET, in batches handled in order (``pull_batches``).

    Durable: a restart goes on from its last acknowledged bar; from the bars published once
    the consumer exists (a first start does not trade the stream's week of history).
    """
    subjects = runtime.subjects
    config = runtime.consumer_config(ack_wait=30)
    config.deliver_policy = DeliverPolicy.NEW
    await runtime.pull_batches(
        "bar",
        pipeline.on_bars,
        subject=subjects.all_bars(),
        stream=subjects.stream("MARKET"),
        durable=subjects.durable("signals", "bars"),
        config=config,
        batch=settings.bar_batch,
        wait_s=settings.bar_wait_s,
    )


def register(runtime: ServiceRuntime, pipeline: Pipeline) -> None:
    """Subscribe the signal service's request handlers and fill and expiry consumers."""
    subjects = runtime.subjects
    broker = runtime.broker
    book = pipeline.book

    # Fills and expiries of the sessions' orders, each kind on its own durable consumer.
    for event, durable, name in (
        (OrderFilled, "fills", "fill"),
        (OrderExpired, "expiries", "expiry"),
    ):
        subscriber = broker.subscriber(
            subjects.account_events_named(message_name(event)),
            stream=JStream(subjects.stream("ACCOUNTS"), declare=False),
            durable=subjects.durable("signals", durable),
            pull_sub=PullSub(batch_size=1),
            config=runtime.consumer_config(ack_wait=30),
        )

        @subscriber
        @runtime.guarded(name)
        async def on_account_event(msg: NatsMessage) -> None:
            await pipeline.on_account_event(msg.body)

    @broker.subscriber(subjects.signals_command(), queue="signals")
    @runtime.replying("command")
    async def on_command(msg: NatsMessage) -> bytes:
        request = command_requests.decode(msg.body)
        try:
            bot, envelopes = await pipeline.execute(request)
        except PortfolioAway as error:  # a start's account not looked up: the same may pass
            runtime.log.warning("session command %s: portfolio away: %s", request.request_id, error)
            message = "portfolio did not answer whether the account was opened; retry"
            return encode(Reply(ok=False, error_code=ReplyErrorCode.UNAVAILABLE, error=message))
        refused = [e.data for e in envelopes if isinstance(e.data, SessionRefused)]
        if refused:
            return encode(
                Reply(ok=False, error_code=refused[0].reason_code, error=refused[0].message)
            )
        if not bot.state.started:
            return encode(Reply(ok=False, error_code="unknown_session", error="no such session"))
        if envelopes and isinstance(envelopes[0].data, SessionStarted):
            await pipeline.check_accounts()  # a new session: its account's equity now
            await pipeline.start_warm_up(bot)  # and its indicators ready from the history
        return encode(Reply(ok=True, result=view(bot, pipeline.clock.now(), pipeline.marks)))

    @broker.subscriber(subjects.signals_queries(), queue="signals")
    @runtime.replying("query")
    async def on_query(msg: NatsMessage) -> bytes:
        request = query_requests.decode(msg.body)
        try:
            result = answer(request.body, book, pipeline.clock.now(), pipeline.marks)
        except UnknownSession as error:
            return encode(Reply(ok=False, error_code="unknown_session", error=str(error)))
        return encode(Reply(ok=True, result=result))
