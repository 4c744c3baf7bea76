"""The shell every service runs in: broker with telemetry middlewares, metrics, dead letters.

A service's bootstrap builds a ``ServiceRuntime``, registers its handlers on ``runtime.broker``,
then ``await runtime.serve(on_start=...)``: it starts the broker, prints ``READY`` (the
supervisor's readiness signal), and runs until SIGINT/SIGTERM, then stops cleanly. Its metrics
port serves /health and /ready too (``papertape.common.telemetry.probes``): ready from READY
until it stops, while NATS is connected.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from functools import wraps
from pathlib import Path
from typing import TypeVar

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from papertape.common import collector
from papertape.common.bus.deadletters import (
    EXHAUSTED,
    MALFORMED,
    DeadLetterBox,
    ForeignReplySubject,
    is_malformed,
    is_transient,
)
from papertape.common.bus.failed_replies import UNAVAILABLE, failed_reply
from papertape.common.bus.injection import takes_message
from papertape.common.bus.permissions import is_inbox
from papertape.common.bus.redeliveries import BatchHandler, Redeliveries
from papertape.common.clock import Clock, SystemClock
from papertape.common.settings import CommonSettings
from papertape.common.tasks import periodically, stop_tasks
from papertape.common.telemetry.busmetrics import BusMetricsMiddleware
from papertape.common.telemetry.logs import configure_logging
from papertape.common.telemetry.metrics import CommitObserved, ServiceMetrics
from papertape.common.telemetry.probes import Probes, start_probed_metrics_server
from papertape.common.telemetry.targets import write_scrape_target
from papertape.common.telemetry.tracing import consuming_batch, install_tracing
from papertape.contract.subjects import Subjects

R = TypeVar("R")
Handler = Callable[[NatsMessage], Awaitable[R]]
MessageBatchHandler = Callable[[list[Msg]], Awaitable[None]]


GRACEFUL_STOP_S = 4.0

# JetStream consumers retry a failing handler this many times (NACK with backoff), then the
# last delivery is dead-lettered by `guarded` and acknowledged. Transient failures (database
# or NATS away) do not count: they are retried, at the last pause, until the world is back.
MAX_DELIVER = 5
BACKOFF_S = (0.2, 1.0, 5.0, 15.0)
GUARDED_OUTCOMES = ("ok", "retry", "unavailable", "dead_lettered")
REPLYING_OUTCOMES = ("ok", "malformed", "unavailable", "error")
CONSUMER_LAG_INTERVAL_S = 5.0  # how often each durable consumer's info is polled


class ServiceRuntime:
    """Everything a service shares with the others, wired once."""

    def __init__(
        self,
        service: str,
        settings: CommonSettings,
        *,
        clock: Clock | None = None,
        max_deliver: int = MAX_DELIVER,
        retry_backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        self.service = service
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.subjects = Subjects(settings.namespace)
        self.metrics = ServiceMetrics(service)
        for reason in (MALFORMED, EXHAUSTED):
            self.metrics.dead_letters.labels(service, reason)  # 0 until the first one
        self.probes = Probes([self._nats_connected])
        self.tracer_provider = install_tracing(
            service, settings.traces_exporter, settings.otlp_endpoint
        )
        self.log = logging.getLogger(f"papertape.{service}")
        self.broker = NatsBroker(
            settings.nats_servers(),
            name=f"papertape-{service}",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # Handlers in flight get this long at a stop; under the supervisor's 10 s. (FastStream's
            # concurrent subscribers can wait it out whole: portfolio's, with max_workers, did.)
            graceful_timeout=GRACEFUL_STOP_S,
            logger=logging.getLogger(f"papertape.{service}.bus"),
            log_level=logging.DEBUG,  # one line per message is for debugging, not for operators
            middlewares=[
                BusMetricsMiddleware(
                    registry=self.metrics.registry, service=service, namespace=settings.namespace
                ),
                NatsTelemetryMiddleware(tracer_provider=self.tracer_provider),
            ],
        )
        self._js: JetStreamContext | None = None
        self._dead_letters: DeadLetterBox | None = None
        self.redeliveries = Redeliveries(
            service,
            self.metrics,
            self.log,
            self.dead_letter,
            max_deliver=max_deliver,
            backoff_s=retry_backoff_s,
            namespace=settings.namespace,
        )
        self._stopping = asyncio.Event()
        self.metrics_port: int | None = None
        """The port /metrics is served on, once ``serve`` has started it."""
        self._targets: list[Path] = []
        self.more_durables: list[tuple[str, str]] = []
        """(stream, durable) of consumers a service names at run time (its partitions'),
        whose lag is polled with those of ``Subjects.service_durables``."""

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("the runtime has not started")
        return self._js

    @property
    def dead_letters(self) -> DeadLetterBox:
        if self._dead_letters is None:
            raise RuntimeError("the runtime has not started")
        return self._dead_letters

    def _nats_connected(self) -> bool:
        return self._js is not None and bool(self.broker.connection.is_connected)

    async def connect(self) -> None:
        """Connect the broker (subscribers start later, with ``start``); idempotent."""
        if self._js is not None:
            return
        await self.broker.connect()
        self._js = self.broker.connection.jetstream()
        self._dead_letters = DeadLetterBox(self.js, self.subjects, self.service, self.clock)

    async def dead_letter(
        self,
        subject: str,
        payload: bytes,
        headers: Mapping[str, str] | None,
        error: BaseException,
        deliveries: int = 1,
    ) -> None:
        """Keep a message that could not be handled, with its reason; count and log it.

        Malformed messages are ``malformed``; anything else has run out of deliveries.
        """
        reason = MALFORMED if is_malformed(error) else EXHAUSTED
        await self.dead_letters.put(
            subject=subject,
            payload=payload,
            error=error,
            reason=reason,
            headers=headers,
            deliveries=deliveries,
        )
        self.metrics.dead_letters.labels(self.service, reason).inc()
        self.log.warning("dead-lettered %s (%s): %s", subject, reason, error)

    def market_refused(self, check: str, reason: str) -> None:
        """Count and log a quote or bar that was refused as the market."""
        self.metrics.market_refused.labels(self.service, check).inc()
        self.log.warning("market data refused (%s): %s", check, reason)

    def consumer_config(self, *, ack_wait: float = 30) -> ConsumerConfig:
        """The config of a durable JetStream consumer behind ``guarded``.

        JetStream itself redelivers without limit (``max_deliver=-1``): the guard decides
        from the kind of error when a message is dead-lettered, so a long outage never makes
        the server drop a message that only waited for the database.
        """
        return ConsumerConfig(max_deliver=-1, ack_wait=ack_wait)

    def guarded(
        self, name: str, *, redelivers: bool = True
    ) -> Callable[[Handler[R]], Handler[R | None]]:
        """Metrics, timing and dead letters around a handler that takes the raw message.

        A message that fails to decode goes to the dead-letter stream at once and is acked.
        A transient failure (``is_transient``: the database or NATS is away) NACKs it with a
        growing delay (``BACKOFF_S``, then its last pause) for as long as the outage lasts,
        counted (outcome ``unavailable``) and logged, and is never dead-lettered. Any other
        error NACKs it with the same backoff until the last allowed delivery
        (``MAX_DELIVER``, transient deliveries not counted), which is dead-lettered and acked.
        On core NATS, or a consumer that never redelivers (``redelivers=False``: an ordered
        consumer), a failure is dead-lettered at once. The service keeps running.
        """

        self._known_outcomes(name, GUARDED_OUTCOMES)

        def decorate(handler: Handler[R]) -> Handler[R | None]:
            # Label children looked up once, not per message (thousands a second).
            ok = self.metrics.handled.labels(self.service, name, "ok")
            seconds = self.metrics.handling_seconds.labels(self.service, name)
            failures = self.redeliveries

            @wraps(handler)
            async def run(msg: NatsMessage) -> R | None:
                started = time.perf_counter()
                try:
                    result = await handler(msg)
                except Exception as error:
                    raw = msg.raw_message
                    await failures.failed(name, raw, error, redelivers=redelivers, nack=msg.nack)
                    return None
                finally:
                    seconds.observe(time.perf_counter() - started)
                failures.succeeded(msg.raw_message)
                ok.inc()
                return result

            return takes_message(run)

        return decorate

    def _known_outcomes(self, name: str, outcomes: Sequence[str]) -> None:
        """Create a handler's series at 0, so a rate of errors is 0 before the first error."""
        for outcome in outcomes:
            self.metrics.handled.labels(self.service, name, outcome)

    def guarded_batch(self, name: str) -> Callable[[MessageBatchHandler], MessageBatchHandler]:
        """``guarded`` for a consumer handled a batch at a time
        (``papertape.common.bus.batches``): the handler takes the messages in stream order and
        acknowledges nothing itself.

        It sees every message of the batch, and dead-letters those it cannot read through
        ``runtime.dead_letter`` (then goes on with the rest). When it raises, every message is
        NACKed with the backoff of the most delivered one (a transient failure, for as long as
        it lasts); a message on its last allowed delivery after a failure that is not
        transient is dead-lettered and acknowledged instead, so one bad message cannot hold
        the consumer for ever. Success acknowledges the batch. (Unlike ``guarded``,
        deliveries during an outage count towards a message's budget here.)
        """

        def decorate(handler: MessageBatchHandler) -> MessageBatchHandler:
            @wraps(handler)
            async def run(messages: list[Msg]) -> None:
                started = time.perf_counter()
                try:
                    with consuming_batch(messages, self.subjects.namespace):
                        await handler(messages)
                except Exception as error:
                    await self.redeliveries.batch_failed(name, messages, error)
                    return
                finally:
                    self.metrics.handling_seconds.labels(self.service, name).observe(
                        time.perf_counter() - started
                    )
                self.metrics.handled.labels(self.service, name, "ok").inc(len(messages))
                for message in messages:
                    await message.ack()

            return run

        return decorate

    async def pull_batches(
        self,
        name: str,
        handler: BatchHandler,
        *,
        subject: str,
        stream: str,
        durable: str,
        config: ConsumerConfig,
        batch: int,
        wait_s: float,
    ) -> None:
        """Follow a durable JetStream consumer in batches, in order, until cancelled: each
        fetch of up to ``batch`` messages (whatever has come, once something has; waiting at
        most ``wait_s`` for it) goes to ``handler`` as one list of bodies, then is acknowledged.

        Not FastStream's batch subscriber: with the nats-py it runs on, a fetch that ends in the
        middle of its probe raises the base ``TimeoutError``, which it does not catch, and the
        messages it had fetched would wait for their redelivery behind later ones. A batch that
        fails is handled again message by message, in order, each through the same rules as
        ``guarded`` (a malformed message is dead-lettered alone, the others go on); after a
        transient failure the rest of the batch is NACKed with it, so they come again in their
        order once the database or NATS is back. The handler must be idempotent per message
        (what it did of a batch before failing is done already).
        """
        sub = await self.js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
        try:
            while True:
                try:
                    raws = await sub.fetch(batch, timeout=wait_s)
                except TimeoutError:  # nats-py's own TimeoutError is a subclass: nothing came
                    continue
                pause = await self.redeliveries.handle_batch(name, handler, raws)
                if pause is not None:  # the NACKed ones come again first, in their order
                    await asyncio.sleep(pause + 0.05)
        finally:
            with suppress(Exception):
                await sub.unsubscribe()

    def replying(self, name: str) -> Callable[[Handler[bytes]], Handler[bytes]]:
        """Metrics and error replies around a request-reply handler that returns encoded bytes.

        A request whose reply subject is no inbox is dead-lettered and not answered (nor handled):
        its answer would be published with this service's rights on whatever subject it named.
        A request that fails to decode is dead-lettered and answered with ``malformed_request``;
        a transient failure (database or NATS away) is logged and answered with ``unavailable``
        and a message without connection details; any other error is logged and answered with
        ``internal_error``. Nothing is retried:
        the requester decides (and requests are idempotent by their id).
        """

        self._known_outcomes(name, REPLYING_OUTCOMES)

        def decorate(handler: Handler[bytes]) -> Handler[bytes]:
            @wraps(handler)
            async def run(msg: NatsMessage) -> bytes:
                started = time.perf_counter()
                outcome = "ok"
                subject = msg.raw_message.subject
                try:
                    if msg.reply_to and not is_inbox(msg.reply_to):
                        outcome = MALFORMED
                        refused = ForeignReplySubject(msg.reply_to)
                        msg.reply_to = ""  # FastStream answers msg.reply_to after this returns
                        await self.dead_letter(subject, msg.body, msg.headers, refused)
                        return b""
                    return await handler(msg)
                except Exception as error:
                    outcome, reply = failed_reply(error)
                    if outcome == MALFORMED:
                        await self.dead_letter(subject, msg.body, msg.headers, error)
                    elif outcome == UNAVAILABLE:  # the requester may retry
                        self.log.warning("request on %s: unavailable: %r", subject, error)
                    else:
                        self.log.exception("request on %s failed", subject)
                    return reply
                finally:
                    self.metrics.handled.labels(self.service, name, outcome).inc()
                    self.metrics.handling_seconds.labels(self.service, name).observe(
                        time.perf_counter() - started
                    )

            return takes_message(run)

        return decorate

    def every(
        self, name: str, interval_s: float, action: Callable[[], Awaitable[object]]
    ) -> asyncio.Task[None]:
        """A task running ``action`` every ``interval_s`` seconds; a failure is logged, counted
        (``papertape_task_failures_total``) and followed by a growing pause, never the end."""
        failures = self.metrics.task_failures.labels(self.service, name)
        return asyncio.create_task(
            periodically(interval_s, action, what=name, log=self.log, on_failure=failures.inc),
            name=f"{self.service} {name}",
        )

    def watch_log(self, log: CommitObserved) -> None:
        """Time the log's transactions and count their group sizes in this service's metrics."""
        log.observe(self.metrics.committed)

    def advertise(self, host: str, port: int, metrics_path: str = "/metrics") -> None:
        """Write this service's scrape target for Prometheus (when a targets folder is set)."""
        if self.settings.metrics_targets_dir:
            folder = Path(self.settings.metrics_targets_dir)
            self._targets.append(
                write_scrape_target(folder, self.service, host, port, metrics_path=metrics_path)
            )

    def own_durables(self) -> list[tuple[str, str]]:
        """(stream, durable) of this service's durable consumers (``Subjects.service_durables``)."""
        mine = self.subjects.durable(self.service, "x").removesuffix("x")
        listed = [(s, d) for s, d in self.subjects.service_durables() if d.startswith(mine)]
        return [*listed, *self.more_durables]

    async def poll_consumer_lag(self) -> None:
        """Set pending, ack-pending and redelivered of each own durable from its consumer info."""
        for stream, durable in self.own_durables():
            try:
                info = await self.js.consumer_info(stream, durable)
            except NotFoundError:
                continue  # not created yet (the service subscribes it at start)
            except Exception as error:
                if not is_transient(error):
                    raise
                # NATS is away or slow: the gauges keep their last value until the next poll
                self.log.debug("consumer lag of %s not read: %s", durable, error)
                return
            labels = (self.service, stream, durable)
            self.metrics.consumer_pending.labels(*labels).set(info.num_pending or 0)
            self.metrics.consumer_ack_pending.labels(*labels).set(info.num_ack_pending or 0)
            self.metrics.consumer_redelivered.labels(*labels).set(info.num_redelivered or 0)

    async def serve(
        self,
        on_start: Callable[[], Awaitable[None]] | None = None,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        on_ready: Callable[[], Awaitable[None]] | None = None,
        on_stopped: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start, say READY, run until a stop signal, stop.

        ``on_start`` runs before the broker's subscribers start, ``on_ready`` after (a service
        that must see its subscriptions' first messages before it is ready waits there).
        ``on_stop`` runs while the subscribers still handle messages (stop feeds and loops),
        ``on_stopped`` once they are stopped: what their handlers use (a database pool) is
        closed there, so a request that arrives during the stop is answered, not failed.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        if self._js is None:
            await self.connect()
        if self.settings.metrics_port >= 0:
            port = start_probed_metrics_server(
                self.metrics, self.probes, self.settings.metrics_port, self.settings.metrics_host
            )
            self.metrics_port = port
            self.log.info(
                "metrics, health and readiness on http://%s:%d", self.settings.metrics_host, port
            )
            self.advertise(self.settings.metrics_host, port)
        if on_start is not None:
            await on_start()
        await self.broker.start()
        lags = (
            [self.every("consumer lag", CONSUMER_LAG_INTERVAL_S, self.poll_consumer_lag)]
            if self.own_durables()
            else []
        )
        try:
            if on_ready is not None:
                await on_ready()
            collector.settle()  # what the ready service holds is not scanned again
            print(f"READY {self.service}", flush=True)  # the supervisor's readiness line
            sys.stdout.flush()
            self.probes.mark_ready()
            await self._stopping.wait()
            self.probes.mark_stopping()
            self.log.info("stopping")
            await stop_tasks(lags)  # no more consumer-info requests on a connection that drains
            if on_stop is not None:
                await on_stop()
            await self.broker.stop()
            if on_stopped is not None:
                await on_stopped()
        finally:
            await stop_tasks(lags)
            for target in self._targets:
                target.unlink(missing_ok=True)
            self.tracer_provider.force_flush(5_000)  # the last spans are exported before exit

    def stop(self) -> None:
        """Ask ``serve`` to return (tests and embedded runs)."""
        self._stopping.set()


def configure(settings: CommonSettings) -> None:
    """Process-wide set-up every service does first."""
    configure_logging(settings.log_level, settings.log_json)
