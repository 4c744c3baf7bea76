"""The one place where execution is wired: runtime, venue, the ACCOUNTS replay, market data.

On start the book is rebuilt by replaying the ACCOUNTS stream from its first message with an
ordered consumer, which then keeps following it; market data is matched once the replay has
caught up with the stream's last message at start. Nothing is kept only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy

from papertape.common.clock import Clock
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import stop_tasks
from papertape.execution.handlers import ExecutionHandlers
from papertape.execution.reports import ReportPublisher
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue import Venue

SERVICE = "execution"
CATCH_UP_TIMEOUT_S = 120.0


class ExecutionService:
    """The running service."""

    def __init__(self, settings: ExecutionSettings, *, clock: Clock | None = None) -> None:
        configure(settings)
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, settings, clock=clock)
        self.venue = Venue(settings.venue_config())
        self.handlers: ExecutionHandlers | None = None
        self.caught_up = asyncio.Event()
        self.matching = asyncio.Event()
        """Set once the book is rebuilt and market data is being matched."""
        self.accounts_seen = 0
        self._catch_up_to = 0
        self._subscriptions: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Replay ACCOUNTS into the book, then match the market."""
        runtime, subjects = self.runtime, self.runtime.subjects
        self.handlers = ExecutionHandlers(self.venue, ReportPublisher(runtime.js, subjects))
        stream = subjects.stream("ACCOUNTS")
        info = await runtime.js.stream_info(stream)
        self._catch_up_to = info.state.last_seq
        if self._catch_up_to == 0:
            self.caught_up.set()
        self._subscriptions.append(
            await runtime.js.subscribe(
                subjects.all_account_events(),
                stream=stream,
                cb=self._account_message,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
            )
        )
        await asyncio.wait_for(self.caught_up.wait(), CATCH_UP_TIMEOUT_S)
        runtime.log.info("book rebuilt from %d account events", self.accounts_seen)
        nc = runtime.broker.connection
        # Quotes, and bars of the one width the venue matches on (the others would be decoded
        # only to be dropped).
        for subject in (subjects.all_quotes(), subjects.bars(self.settings.bar_timeframe)):
            market: Subscription = await nc.subscribe(subject, cb=self._market_message)
            self._subscriptions.append(market)
        await nc.flush()  # the server knows the subscription before we say we are matching
        if self.settings.expiry_sweep_s > 0:
            self._tasks.append(asyncio.create_task(self._sweep(), name="execution expiries"))
        self.matching.set()

    async def stop(self) -> None:
        """Stop following the bus."""
        await stop_tasks(self._tasks)
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def serve(self) -> None:
        """Run until SIGINT/SIGTERM (prints READY once the book is rebuilt)."""
        await self.runtime.serve(on_start=self.start, on_stop=self.stop)

    async def _account_message(self, msg: Msg) -> None:
        assert self.handlers is not None
        await self._guarded(msg, self.handlers.on_account_event)
        self.accounts_seen += 1
        if msg.metadata.sequence.stream >= self._catch_up_to:
            self.caught_up.set()

    async def _market_message(self, msg: Msg) -> None:
        assert self.handlers is not None
        await self._guarded(msg, self.handlers.on_market_event)

    async def _guarded(self, msg: Msg, handle: Any) -> None:
        # Neither subscription redelivers (an ordered consumer, a core subscription): a message
        # that cannot be handled is dead-lettered with the reason and the service goes on.
        try:
            await handle(msg.data)
        except Exception as error:
            await self.runtime.dead_letter(msg.subject, msg.data, msg.headers, error)

    async def _sweep(self) -> None:
        assert self.handlers is not None
        while True:
            await asyncio.sleep(self.settings.expiry_sweep_s)
            try:
                await self.handlers.on_clock(self.runtime.clock.now())
            except Exception:
                self.runtime.log.exception("expiry sweep failed")
