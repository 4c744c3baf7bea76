"""The shell every service runs in: broker with telemetry middlewares, metrics, dead letters.

A service's bootstrap builds a ``ServiceRuntime``, registers its handlers on ``runtime.broker``,
then ``await runtime.serve(on_start=...)``: it starts the broker, prints ``READY`` (the
supervisor's readiness signal), and runs until SIGINT/SIGTERM, then stops cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from opentelemetry.trace import SpanKind

from papertape.common.bus.batches import BatchPuller
from papertape.common.bus.deadletters import (
    EXHAUSTED,
    MALFORMED,
    DeadLetterBox,
    is_malformed,
    is_transient,
)
from papertape.common.bus.injection import takes_message
from papertape.common.clock import Clock, SystemClock
from papertape.common.lanes import in_lanes
from papertape.common.settings import CommonSettings
from papertape.common.tasks import periodically
from papertape.common.telemetry.logs import configure_logging
from papertape.common.telemetry.metrics import ServiceMetrics, start_metrics_server
from papertape.common.telemetry.tracing import configure_tracing, extract_context
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.subjects import Subjects

R = TypeVar("R")
Handler = Callable[[NatsMessage], Awaitable[R]]


# JetStream consumers retry a failing handler this many times (NACK with backoff), then the
# last delivery is dead-lettered by `guarded` and acknowledged. Transient failures (database
# or NATS away) do not count: they are retried, at the last pause, until the world is back.
MAX_DELIVER = 5
BACKOFF_S = (0.2, 1.0, 5.0, 15.0)
UNAVAILABLE_MESSAGE = "the service cannot reach its database or the bus right now; retry"
_TRACKED_MESSAGES = 10_000  # bound on the per-message count of transient deliveries


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
        self.max_deliver = max_deliver
        self.retry_backoff_s = tuple(retry_backoff_s) or (0.0,)
        self.clock: Clock = clock or SystemClock()
        self.subjects = Subjects(settings.namespace)
        self.metrics = ServiceMetrics(service)
        self.tracer_provider = configure_tracing(service)
        self.log = logging.getLogger(f"papertape.{service}")
        self.broker = NatsBroker(
            settings.nats_url,
            name=f"papertape-{service}",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            graceful_timeout=10.0,
            logger=logging.getLogger(f"papertape.{service}.bus"),
            log_level=logging.DEBUG,  # one line per message is for debugging, not for operators
            middlewares=[
                NatsPrometheusMiddleware(
                    registry=self.metrics.registry, app_name=service, metrics_prefix="papertape_bus"
                ),
                NatsTelemetryMiddleware(tracer_provider=self.tracer_provider),
            ],
        )
        self._js: JetStreamContext | None = None
        self._dead_letters: DeadLetterBox | None = None
        # JetStream counts every delivery; the guard subtracts the transient ones, so an outage
        # never spends a message's budget towards its dead letter.
        self._transient_deliveries: dict[tuple[str, int], int] = {}
        self._stopping = asyncio.Event()
        self.metrics_port: int | None = None
        """The port /metrics is served on, once ``serve`` has started it."""

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

        def decorate(handler: Handler[R]) -> Handler[R | None]:
            # Label children looked up once, not per message (thousands a second).
            ok = self.metrics.handled.labels(self.service, name, "ok")
            seconds = self.metrics.handling_seconds.labels(self.service, name)

            @wraps(handler)
            async def run(msg: NatsMessage) -> R | None:
                started = time.perf_counter()
                try:
                    result = await handler(msg)
                except Exception as error:
                    key = _message_key(msg)
                    deliveries = _deliveries(msg)
                    transient = is_transient(error)
                    if transient and key is not None:
                        self._count_transient(key)
                    failures = deliveries - self._transient_deliveries.get(key or ("", 0), 0)
                    retried = redelivers and key is not None and _is_jetstream(msg)
                    exhausted = not transient and failures >= self.max_deliver
                    if is_malformed(error) or not retried or exhausted:
                        self._transient_deliveries.pop(key or ("", 0), None)
                        await self.dead_letter(
                            msg.raw_message.subject, msg.body, msg.headers, error, deliveries
                        )
                        self.metrics.handled.labels(self.service, name, "dead_lettered").inc()
                        return None
                    outcome = "unavailable" if transient else "retry"
                    self.metrics.handled.labels(self.service, name, outcome).inc()
                    backoff = self.retry_backoff_s
                    delay = backoff[min(deliveries, len(backoff)) - 1]
                    self.log.warning(
                        "%s failed (%s, delivery %d, %d of %d failures), again in %.1fs: %s",
                        msg.raw_message.subject,
                        outcome,
                        deliveries,
                        max(failures, 0),
                        self.max_deliver,
                        delay,
                        error,
                    )
                    await msg.nack(delay=delay)  # JetStream redelivers after the backoff
                    return None
                finally:
                    seconds.observe(time.perf_counter() - started)
                if self._transient_deliveries:  # a success ends its outage count, if it had one
                    self._transient_deliveries.pop(_message_key(msg) or ("", 0), None)
                ok.inc()
                return result

            return takes_message(run)

        return decorate

    def pull_in_lanes(
        self,
        name: str,
        subject: str,
        *,
        stream: str,
        durable: str,
        lane: Callable[[str], str],
        batch: int = 256,
        ack_wait: float = 30,
    ) -> Callable[[Handler[object]], BatchPuller]:
        """A durable pull consumer handled in batches, in lanes, each message guarded.

        Batches come as soon as anything is there (``BatchPuller``); a batch is split into
        lanes by ``lane(subject)`` (an account's reports): one lane's messages are handled in
        the order the stream holds them, the lanes concurrently, so their effects share a
        group commit. Each message goes through ``guarded`` on its own (its own span from its
        headers, retries and dead letter) and is acknowledged as soon as it was handled.
        ``run()`` the returned puller once the runtime is connected.
        """

        def decorate(handler: Handler[object]) -> BatchPuller:
            each = self._acking(name, handler)

            async def handle(messages: list[Msg]) -> None:
                await in_lanes(messages, lambda raw: lane(raw.subject), each)

            return BatchPuller(
                lambda: self.js,
                subject,
                handle,
                stream=stream,
                durable=durable,
                config=self.consumer_config(ack_wait=ack_wait),
                batch=batch,
            )

        return decorate

    async def follow(
        self, name: str, subject: str, handle: Callable[[bytes], object]
    ) -> Subscription:
        """A core NATS subscription for a firehose (every quote of every symbol), once connected.

        FastStream's per-message machinery (a span, the bus metrics, dependency injection)
        costs more than a quote's whole handling; here each message is only counted
        (``papertape_messages_handled_total``), and one that fails is dead-lettered with its
        reason, as ``guarded`` does on core NATS. ``handle`` takes the payload and must not
        wait: it runs in the order messages arrive.
        """
        ok = self.metrics.handled.labels(self.service, name, "ok")
        dead = self.metrics.handled.labels(self.service, name, "dead_lettered")

        async def on_message(msg: Msg) -> None:
            try:
                handle(msg.data)
            except Exception as error:
                dead.inc()
                await self.dead_letter(msg.subject, msg.data, msg.headers, error)
            else:
                ok.inc()

        return await self.broker.connection.subscribe(
            subject, cb=on_message, pending_msgs_limit=1_000_000
        )

    async def consume_in_order(
        self,
        name: str,
        subject: str,
        handler: Handler[object],
        *,
        stream: str,
        queue: str,
        config: ConsumerConfig,
        traced: bool = True,
    ) -> None:
        """A durable JetStream push consumer (deliver group ``queue``, which JetStream also
        makes its durable name), once connected: messages one at a time, in stream order.

        Each goes through ``guarded`` (its retries and dead letter), in a span from its
        headers, and is acknowledged once handled; FastStream's subscriber machinery (bus
        metrics, dependency injection, its own span) is left out, as it cost several times the
        handling of a quote. ``traced=False`` leaves out the span too (a quote's own span is
        worth less than its matching: the fills continue their orders' traces). The
        subscription lives as long as the connection.
        """
        on_message = self._acking(name, handler, traced=traced)
        await self.js.subscribe(
            subject,
            queue=queue,
            stream=stream,
            config=config,
            cb=on_message,
            manual_ack=True,
            pending_msgs_limit=1_000_000,
        )

    def _acking(
        self, name: str, handler: Handler[object], *, traced: bool = True
    ) -> Callable[[Msg], Awaitable[None]]:
        """A raw JetStream message through ``guarded``, in a span from its headers (unless
        not ``traced``), then acknowledged (a no-op when the guard NACKed it)."""
        one = self.guarded(name)(handler)
        tracer = self.tracer_provider.get_tracer("papertape.common.runtime")

        async def each(raw: Msg) -> None:
            # The ack subject names the delivery: no uuid4 per message for a correlation id.
            msg = NatsMessage(
                raw_message=raw,
                body=raw.data,
                headers=raw.headers or {},
                reply_to=raw.reply,
                correlation_id=raw.reply,
            )
            if traced:
                context = extract_context(raw.headers)
                with tracer.start_as_current_span(
                    f"{raw.subject} process", context=context, kind=SpanKind.CONSUMER
                ):
                    await one(msg)
            else:
                await one(msg)
            await msg.ack()

        return each

    def _count_transient(self, key: tuple[str, int]) -> None:
        if key not in self._transient_deliveries and len(self._transient_deliveries) >= (
            _TRACKED_MESSAGES
        ):
            del self._transient_deliveries[next(iter(self._transient_deliveries))]
        self._transient_deliveries[key] = self._transient_deliveries.get(key, 0) + 1

    def replying(self, name: str) -> Callable[[Handler[bytes]], Handler[bytes]]:
        """Metrics and error replies around a request-reply handler that returns encoded bytes.

        A request that fails to decode is dead-lettered and answered with ``malformed_request``;
        a transient failure (database or NATS away) is logged and answered with ``unavailable``
        and a message without connection details; any other error is logged and answered with
        ``internal_error``. Nothing is retried:
        the requester decides (and requests are idempotent by their id).
        """

        def decorate(handler: Handler[bytes]) -> Handler[bytes]:
            @wraps(handler)
            async def run(msg: NatsMessage) -> bytes:
                started = time.perf_counter()
                outcome = "ok"
                try:
                    return await handler(msg)
                except Exception as error:
                    if is_malformed(error):
                        outcome = "malformed"
                        await self.dead_letter(
                            msg.raw_message.subject, msg.body, msg.headers, error
                        )
                        return encode(
                            Reply(
                                ok=False,
                                error_code=ReplyErrorCode.MALFORMED_REQUEST,
                                error=str(error),
                            )
                        )
                    if is_transient(error):
                        # The requester may retry; the error's text (an address, a DSN) is
                        # for the operator's log, never for the client.
                        outcome = "unavailable"
                        self.log.warning(
                            "request on %s: unavailable: %r", msg.raw_message.subject, error
                        )
                        return encode(
                            Reply(
                                ok=False,
                                error_code=ReplyErrorCode.UNAVAILABLE,
                                error=UNAVAILABLE_MESSAGE,
                            )
                        )
                    outcome = "error"
                    self.log.exception("request on %s failed", msg.raw_message.subject)
                    return encode(
                        Reply(
                            ok=False,
                            error_code=ReplyErrorCode.INTERNAL_ERROR,
                            error=f"{type(error).__name__}: {error}",
                        )
                    )
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

    async def serve(
        self,
        on_start: Callable[[], Awaitable[None]] | None = None,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        on_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start, say READY, run until a stop signal, stop.

        ``on_start`` runs before the broker's subscribers start, ``on_ready`` after (a service
        that must see its subscriptions' first messages before it is ready waits there).
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        if self._js is None:
            await self.connect()
        if self.settings.metrics_port >= 0:
            port = start_metrics_server(
                self.metrics, self.settings.metrics_port, self.settings.metrics_host
            )
            self.metrics_port = port
            self.log.info("metrics on http://%s:%d/metrics", self.settings.metrics_host, port)
        if on_start is not None:
            await on_start()
        await self.broker.start()
        if on_ready is not None:
            await on_ready()
        print(f"READY {self.service}", flush=True)  # the supervisor's readiness line
        sys.stdout.flush()
        await self._stopping.wait()
        self.log.info("stopping")
        if on_stop is not None:
            await on_stop()
        await self.broker.stop()

    def stop(self) -> None:
        """Ask ``serve`` to return (tests and embedded runs)."""
        self._stopping.set()


def _deliveries(msg: NatsMessage) -> int:
    try:
        return int(msg.raw_message.metadata.num_delivered)
    except Exception:  # core NATS messages have no JetStream metadata
        return 1


def _message_key(msg: NatsMessage) -> tuple[str, int] | None:
    """The stream and stream sequence of a JetStream message (None on core NATS)."""
    try:
        metadata = msg.raw_message.metadata
        return (str(metadata.stream), int(metadata.sequence.stream))
    except Exception:  # core NATS messages have no JetStream metadata
        return None


def _is_jetstream(msg: NatsMessage) -> bool:
    reply: Any = msg.raw_message.reply
    return isinstance(reply, str) and reply.startswith("$JS.ACK")


def configure(settings: CommonSettings) -> None:
    """Process-wide set-up every service does first."""
    configure_logging(settings.log_level, settings.log_json)
