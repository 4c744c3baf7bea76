"""The one place the signal service is wired: log, session book, portfolio, relay, handlers.

On start every session is rebuilt from its stream (its strategies fed again the bars its
signals recorded), then the bar and fill consumers start (durable: what arrived while the
service was away is handled now), the relay publishes the log's session events to SIGNALS,
and the clock loops check runtime limits, accounts and unanswered orders. ``make run`` asks for
a demo session on the demo account once portfolio has opened it (started once; a restart finds
it in the log).
"""

from __future__ import annotations

import asyncio
import time

from papertape.common.clock import Clock, SystemClock
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import restart_on_failure, stop_tasks
from papertape.contract.events.envelope import ReplyErrorCode, Request
from papertape.contract.events.sessions import (
    SessionCommand,
    SessionRefused,
    StartSession,
    TradingMode,
)
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.signals import handlers
from papertape.signals.book import SessionBook
from papertape.signals.market import MarketGateway
from papertape.signals.metrics import SignalMetrics
from papertape.signals.portfolio import PortfolioAway, PortfolioGateway
from papertape.signals.relay import SessionRelay
from papertape.signals.settings import SignalSettings, read_settings

SERVICE = "signals"
DEMO_SESSION = "demo-bot"
DEMO_WAIT_S = 60.0
"""How long the demo session waits for portfolio to open the demo account (``papertape run``
waits 120 s for every service to be ready)."""
DEMO_RETRY_S = 0.5


def demo_session(settings: SignalSettings) -> StartSession:
    """The demo bot: a fast EMA crossover on synthetic data, so signals come within minutes."""
    return StartSession(
        session_id=DEMO_SESSION,
        account_id=AccountId(settings.demo_account),
        strategy="ma_crossover",
        parameters={"fast": 2, "slow": 4, "atr_period": 3, "volatility_period": 3},
        symbols=tuple(Symbol(s) for s in settings.demo_symbols.split(",")),
        mode=TradingMode.AGGRESSIVE,
    )


class SignalService:
    """The running service: everything it owns, started and stopped together."""

    def __init__(
        self, settings: SignalSettings, log: PostgresEventLog, *, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.runtime = ServiceRuntime(SERVICE, settings, clock=self.clock)
        self.log = log
        self.runtime.watch_log(log)
        self.book = SessionBook(log, self.clock, horizon=settings.horizon, history=settings.history)
        self.metrics = SignalMetrics(self.runtime.metrics.registry, self.book.bots)
        self.pipeline = handlers.Pipeline(self.book, self.clock)
        self.relay: SessionRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        handlers.register(self.runtime, self.pipeline)

    async def start(self) -> None:
        """Rebuild every session, connect, start the relay and the clock loops."""
        started = time.perf_counter()
        sessions, events = await self.book.load_all()
        self.runtime.metrics.rebuilt(time.perf_counter() - started, events)
        self.runtime.log.info("rebuilt %d sessions from %d events", sessions, events)
        await self.runtime.connect()
        self.pipeline.portfolio = PortfolioGateway(
            self.runtime.broker.connection, self.runtime.subjects
        )
        self.pipeline.market = MarketGateway(self.runtime.broker.connection, self.runtime.subjects)
        self.pipeline.warmup_bars = self.settings.warmup_bars
        self.relay = SessionRelay(
            self.settings.database_url,
            self.runtime.js,
            self.runtime.subjects,
            metrics=self.runtime.metrics,
            batch_size=self.settings.relay_batch,
            role=self.settings.relay_role or None,
            on_published=self.metrics.published,
        )
        pipeline = self.pipeline
        self._tasks = [
            asyncio.create_task(self._bars_forever(), name="bars"),
            asyncio.create_task(self._relay_forever(), name="relay"),
            self.runtime.every("clock", self.settings.clock_interval_s, pipeline.on_clock),
            self.runtime.every(
                "accounts", self.settings.account_interval_s, pipeline.check_accounts
            ),
        ]

    async def ready(self) -> None:
        """Start the demo session (``make run``) in the background once the consumers run: on
        the demo account once portfolio has opened it, which may take a while (the services
        start together), so READY does not wait for it."""
        if self.settings.demo_account and DEMO_SESSION not in self.book.bots:
            self._tasks.append(asyncio.create_task(self._start_demo(), name="demo session"))

    async def _start_demo(self) -> None:
        """Ask for the demo session until portfolio has opened its account (``DEMO_WAIT_S`` at
        most): portfolio may not answer yet, or not have opened the account yet."""
        request: Request[SessionCommand] = Request(
            request_id=f"{DEMO_SESSION}:start",
            issued_at=self.clock.now(),
            actor=Actor("signals.demo"),
            body=demo_session(self.settings),
        )
        deadline = time.monotonic() + DEMO_WAIT_S
        refusal = "portfolio did not answer"
        while time.monotonic() < deadline:
            try:
                bot, envelopes = await self.pipeline.execute(request)
            except PortfolioAway:
                await asyncio.sleep(DEMO_RETRY_S)
                continue
            if bot.state.started:
                await self.pipeline.start_warm_up(bot)
                warmed = sum(bot.state.warmed.values())
                self.runtime.log.info(
                    "started demo session %s (%d bars of history)", DEMO_SESSION, warmed
                )
                return
            refused = [e.data for e in envelopes if isinstance(e.data, SessionRefused)]
            refusal = refused[0].message if refused else "not started"
            if not refused or refused[0].reason_code != ReplyErrorCode.UNKNOWN_ACCOUNT:
                break  # refused for good (its parameters): asking again changes nothing
            await asyncio.sleep(DEMO_RETRY_S)
        self.runtime.log.warning("demo session %s not started: %s", DEMO_SESSION, refusal)

    async def _bars_forever(self) -> None:
        async def follow() -> None:
            await handlers.follow_bars(self.runtime, self.pipeline, self.settings)

        restarts = self.runtime.metrics.handled.labels(SERVICE, "bars", "restart")
        await restart_on_failure(
            follow, what="the bar consumer", log=self.runtime.log, on_restart=restarts.inc
        )

    async def _relay_forever(self) -> None:
        assert self.relay is not None
        restarts = self.runtime.metrics.handled.labels(SERVICE, "relay", "restart")
        await restart_on_failure(
            self.relay.run, what="the relay", log=self.runtime.log, on_restart=restarts.inc
        )

    async def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        await stop_tasks(self._tasks)
        self._tasks = []

    async def serve(self) -> None:
        await self.runtime.serve(on_start=self.start, on_stop=self.stop, on_ready=self.ready)


async def build(settings: SignalSettings, **overrides: object) -> SignalService:
    """Open the log (migrating it) and wire the service; tests pass a clock."""
    log = await PostgresEventLog.connect(settings.database_url, role=settings.database_role or None)
    return SignalService(settings, log, **overrides)  # type: ignore[arg-type]


async def main() -> None:
    """Run the signal service until SIGINT/SIGTERM."""
    settings = read_settings()
    configure(settings)
    service = await build(settings)
    try:
        await service.serve()
    finally:
        await service.log.close()
