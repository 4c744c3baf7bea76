"""One partition of the accounts at the venue: its own book, and its own market consumer.

With ``PAPERTAPE_PARTITIONS`` above 1 an account belongs to partition
``partition_of(account, partitions)``, and the replica holding that partition's lease
(``papertape.execution.ownership``) is the only one that matches its orders. Taking a partition
is a restart of that partition alone: its book is rebuilt by replaying ACCOUNTS (the
partition's accounts only) with an ordered consumer that keeps following it, and only then is
market data matched, from the partition's durable consumer of MARKET (every partition sees every
quote). That consumer is recreated by each new owner at the floor its predecessor acknowledged
(``market.resume_at_floor``), so a takeover resumes exactly where the dead owner left off: messages
it received but never acknowledged are matched again at once, in order, not after their ack
wait behind newer ones. Reports of the rebuilt book carry the same ids (the portfolio applies
each once). Losing the lease stops the partition at once: nothing more is matched, published or
acknowledged by it. Once matching, the partition answers the queries of its accounts forwarded to
``execution.p<k>.query.*`` (``queries.serve_partition_queries``), from its whole book only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from nats.aio.subscription import Subscription
from opentelemetry.trace import Tracer

from papertape.common.bus.routing import Router
from papertape.common.runtime import ServiceRuntime
from papertape.common.tasks import stop_tasks
from papertape.contract.partitions import partition_of
from papertape.execution.accounts import AccountsReplay
from papertape.execution.handlers import ExecutionHandlers
from papertape.execution.market import follow_market
from papertape.execution.queries import serve_partition_queries
from papertape.execution.reports import ReportPublisher
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue import Venue

REBUILD_TIMEOUT_S = 120.0


def market_durable(runtime: ServiceRuntime, index: int) -> str:
    """The durable consumer of MARKET of partition ``index``."""
    return runtime.subjects.durable("execution", f"market-p{index}")


class Partition:
    """Partition ``index`` of ``count`` while this replica owns it."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: ExecutionSettings,
        index: int,
        count: int,
        tracer: Tracer,
        router: Router | None = None,
    ) -> None:
        self.runtime = runtime
        self.router = router
        self.settings = settings
        self.index = index
        self.count = count
        self.venue = Venue(settings.venue_config())
        self.handlers = ExecutionHandlers(
            self.venue,
            ReportPublisher(runtime.js, runtime.subjects, tracer=tracer),
            refused=lambda refusal: runtime.market_refused(refusal.check, refusal.reason),
        )
        self.live = False
        """True while owned: cleared at once when the lease is lost."""
        self.matching = asyncio.Event()
        self.accounts_seen = 0
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def serving(self) -> bool:
        """Whether its book is whole and it is matching (it answers its accounts' queries)."""
        return self.live and self.matching.is_set()

    def holds(self, subject: str) -> bool:
        """Whether the account of ``acct.<account>.<event>`` belongs to this partition."""
        account = subject.rsplit(".", 2)[-2]
        return partition_of(account, self.count) == self.index

    async def start(self) -> None:
        """Rebuild the book, then match the market from the acknowledged floor, sweep expiries."""
        self.live = True
        started = time.perf_counter()
        await self._replay_accounts()
        if not self.live:
            return
        self.runtime.metrics.rebuilt(time.perf_counter() - started, self.accounts_seen)
        self.runtime.log.info(
            "partition %d: book rebuilt from %d account events", self.index, self.accounts_seen
        )
        await self._follow_market()
        if self.settings.expiry_sweep_s > 0:
            sweep = f"expiry sweep p{self.index}"
            self._tasks.append(self.runtime.every(sweep, self.settings.expiry_sweep_s, self._sweep))
        if self.router is not None and self.live:
            self._subscriptions.append(
                await serve_partition_queries(self.runtime, self.router, self.index, self.venue)
            )
        self.matching.set()

    async def stop(self) -> None:
        """Stop matching now; unsubscribe; make sure every acknowledgement sent has left."""
        self.live = False
        await stop_tasks(self._tasks)
        self._tasks = []
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await subscription.unsubscribe()
        self._subscriptions = []
        with contextlib.suppress(Exception):
            await self.runtime.broker.connection.flush(timeout=2)

    async def _replay_accounts(self) -> None:
        """The partition's account events from the first, then as they come (never acked)."""
        replay = AccountsReplay(
            self.runtime, self.handlers.on_account_event, holds=self.holds, live=lambda: self.live
        )
        self._subscriptions.append(await replay.start())
        await asyncio.wait_for(replay.caught_up.wait(), REBUILD_TIMEOUT_S)
        self.accounts_seen = replay.seen

    async def _follow_market(self) -> None:
        """Quotes and the venue's bars, in order, from the partition's acknowledged floor."""
        durable = market_durable(self.runtime, self.index)
        following = asyncio.ensure_future(
            follow_market(
                self.runtime,
                self.settings.bar_timeframe,
                durable,
                self.handlers.on_market_event,
                live=lambda: self.live,
            )
        )
        try:
            subscription = await asyncio.shield(following)
        except asyncio.CancelledError:
            # Given up meanwhile: the consumer, removed to be made again at the floor, is made
            # whole first (or the next owner would find none, and start with what is new).
            subscription = await following
            await subscription.unsubscribe()
            raise
        self._subscriptions.append(subscription)

    async def _sweep(self) -> None:
        if self.live:
            await self.handlers.on_clock(self.runtime.clock.now())
