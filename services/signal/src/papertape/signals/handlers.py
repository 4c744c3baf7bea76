"""Bus handlers of the signal service: decode, hand to the session book, answer. No rules here.

``Pipeline`` is the handler path a bar takes (also what ``bench`` measures): decode the bar,
let every session that trades it evaluate it (signal, outcomes, order requests, appended to the
session's stream), then send the session's unanswered orders to portfolio and record the
answers. The same path runs for a fill from ACCOUNTS, and on the clock: runtime limits, the
accounts' equity and halts, and orders portfolio could not answer before.
"""

from __future__ import annotations

from typing import Any

from faststream.nats import JStream, NatsMessage, PullSub
from nats.js.api import DeliverPolicy

from papertape.common.clock import Clock
from papertape.common.runtime import ServiceRuntime
from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.account import AccountEvent, OrderFilled, OrderFilledV2
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope, Reply, Request
from papertape.contract.events.market import BarClosed
from papertape.contract.events.reports import AccountSummary
from papertape.contract.events.sessions import (
    SessionCommand,
    SessionRefused,
    SessionStarted,
    SignalsQuery,
)
from papertape.signals.book import SessionBook
from papertape.signals.portfolio import PortfolioAway, PortfolioGateway, room_of
from papertape.signals.queries import UnknownSession, answer, view
from papertape.trading.strategies.bots import Bot
from papertape.trading.strategies.requests import fill_recorded
from papertape.trading.strategies.sessions import account_checked, expire
from papertape.trading.strategies.sizing import AccountRoom

bars: Codec[BarClosed] = Codec(BarClosed)
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
        self._sending: set[str] = set()
        """Orders on their way to portfolio: the bar handler and the clock never both send."""
        self.bars = 0

    async def on_bar(self, data: bytes) -> list[Envelope[Any]]:
        """A closed bar: every session trading it evaluates it; its orders go out. Returns
        what the sessions recorded of the bar (their answers from portfolio left out)."""
        bar = bars.decode(data)
        self.bars += 1
        now = self.clock.now()
        recorded: list[Envelope[Any]] = []
        for bot in list(self.book.for_bar(bar)):
            room = self.rooms.get(bot.state.account_id)
            recorded += await self.book.on_bar(bot, bar, room, now)
            if bot.state.requested:
                await self.send_orders(bot)
        return recorded

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
        """An account event: a fill of a session's order is recorded against the session."""
        envelope = account_events.decode(data)
        fill = upcast(envelope.data)  # a stored v1 fill reads as the current version
        if not isinstance(fill, OrderFilledV2):
            return
        session_id = self.book.orders.get(fill.order_id)
        bot = self.book.bots.get(session_id or "")
        if bot is None or fill.fill_id in bot.state.fill_ids:
            return
        recorded = fill_recorded(bot.state.session_id, fill)
        await self.book.record(bot, [recorded], fill.fill_id)

    async def on_clock(self) -> None:
        """Runtime limits, and orders portfolio did not answer before."""
        now = self.clock.now()
        for bot in self.book.running():
            await self.book.record(bot, expire(bot.state, now), "clock")
            await self.send_orders(bot)

    async def check_accounts(self) -> None:
        """Each running session's account: equity for sizing; a halt or breaker stops it."""
        if self.portfolio is None:
            return
        now = self.clock.now()
        seen: dict[str, AccountSummary | None] = {}
        for bot in self.book.running():
            account = bot.state.account_id
            if account not in seen:
                seen[account] = await self.portfolio.summary(account, now)
            summary = seen[account]
            if summary is None:
                continue
            self.rooms[account] = room_of(summary)
            stop = account_checked(
                bot.state,
                halted=summary.halted,
                halt_reason=summary.halt_reason,
                circuit_breaker=summary.circuit_breaker_tripped,
                now=now,
            )
            await self.book.record(bot, stop, "account")


def register(runtime: ServiceRuntime, pipeline: Pipeline) -> None:
    """Subscribe the signal service's handlers on the runtime's broker."""
    subjects = runtime.subjects
    broker = runtime.broker
    book = pipeline.book

    @broker.subscriber(
        subjects.all_bars(),
        stream=JStream(subjects.stream("MARKET"), declare=False),
        durable=subjects.durable("signals", "bars"),
        # From the bars published once the consumer exists (a first start does not trade the
        # stream's week of history); a restart goes on from its last acknowledged bar.
        deliver_policy=DeliverPolicy.NEW,
        pull_sub=PullSub(batch_size=1),  # one at a time: a session's bars in order
        config=runtime.consumer_config(ack_wait=30),
    )
    @runtime.guarded("bar")
    async def on_bar(msg: NatsMessage) -> None:
        await pipeline.on_bar(msg.body)

    @broker.subscriber(
        subjects.account_events_named(message_name(OrderFilled)),
        stream=JStream(subjects.stream("ACCOUNTS"), declare=False),
        durable=subjects.durable("signals", "fills"),
        pull_sub=PullSub(batch_size=1),
        config=runtime.consumer_config(ack_wait=30),
    )
    @runtime.guarded("fill")
    async def on_fill(msg: NatsMessage) -> None:
        await pipeline.on_account_event(msg.body)

    @broker.subscriber(subjects.signals_command(), queue="signals")
    @runtime.replying("command")
    async def on_command(msg: NatsMessage) -> bytes:
        request = command_requests.decode(msg.body)
        bot, envelopes = await book.execute(request)
        refused = [e.data for e in envelopes if isinstance(e.data, SessionRefused)]
        if refused:
            return encode(
                Reply(ok=False, error_code=refused[0].reason_code, error=refused[0].message)
            )
        if not bot.state.started:
            return encode(Reply(ok=False, error_code="unknown_session", error="no such session"))
        if envelopes and isinstance(envelopes[0].data, SessionStarted):
            await pipeline.check_accounts()  # a new session: its account's equity now
        return encode(Reply(ok=True, result=view(bot, pipeline.clock.now())))

    @broker.subscriber(subjects.signals_queries(), queue="signals")
    @runtime.replying("query")
    async def on_query(msg: NatsMessage) -> bytes:
        request = query_requests.decode(msg.body)
        try:
            result = answer(request.body, book, pipeline.clock.now())
        except UnknownSession as error:
            return encode(Reply(ok=False, error_code="unknown_session", error=str(error)))
        return encode(Reply(ok=True, result=result))
