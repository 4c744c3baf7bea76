"""What happens to a consumed message whose handling failed: NACKed with a backoff, or
dead-lettered (the runtime's guards, for one message or a fetched batch).

A transient failure (``is_transient``: the database or NATS is away) NACKs the message with a
growing delay for as long as the outage lasts and is never dead-lettered: JetStream counts
every delivery, and these are subtracted, so an outage never spends a message's budget. Any
other failure NACKs it until the last allowed delivery, which is dead-lettered. A malformed
message, a core-NATS one and one of a consumer that never redelivers are dead-lettered at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.aio.msg import Msg

from papertape.common.bus.deadletters import is_malformed, is_transient
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.tracing import consuming_batch

BatchHandler = Callable[[list[bytes]], Awaitable[object]]
"""A batch's bodies in stream order (``ServiceRuntime.pull_batches``)."""
DeadLetter = Callable[..., Awaitable[None]]
TRACKED_MESSAGES = 10_000  # bound on the per-message count of transient deliveries


class Redeliveries:
    """One service's rules for failed messages, and its count of their transient deliveries."""

    def __init__(
        self,
        service: str,
        metrics: ServiceMetrics,
        log: logging.Logger,
        dead_letter: DeadLetter,
        *,
        max_deliver: int,
        backoff_s: Sequence[float],
        namespace: str = "",
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.log = log
        self.dead_letter = dead_letter
        self.max_deliver = max_deliver
        self.backoff_s = tuple(backoff_s) or (0.0,)
        self.namespace = namespace
        self._transient: dict[tuple[str, int], int] = {}

    def delay(self, deliveries: int) -> float:
        """The pause before the redelivery that follows the ``deliveries``-th."""
        return self.backoff_s[min(deliveries, len(self.backoff_s)) - 1]

    def deferred(self, raw: Any) -> None:
        """``raw`` is NACKed unread, to keep its key's order (``papertape.common.bus.ordering``):
        like an outage's, the delivery spends none of its budget."""
        if (key := message_key(raw)) is not None:
            self._count_transient(key)

    def succeeded(self, raw: Any) -> None:
        """A success ends the message's outage count, if it had one."""
        if self._transient:
            self._transient.pop(message_key(raw) or ("", 0), None)

    async def failed(
        self,
        name: str,
        raw: Any,
        error: Exception,
        *,
        redelivers: bool,
        nack: Callable[..., Awaitable[None]],
    ) -> float | None:
        """Dead-letter or NACK a message whose handler failed; the NACK's delay, if NACKed."""
        key = message_key(raw)
        delivered = deliveries(raw)
        transient = is_transient(error)
        if transient and key is not None:
            self._count_transient(key)
        failures = delivered - self._transient.get(key or ("", 0), 0)
        retried = redelivers and key is not None and is_jetstream(raw)
        exhausted = not transient and failures >= self.max_deliver
        if is_malformed(error) or not retried or exhausted:
            self._transient.pop(key or ("", 0), None)
            await self.dead_letter(raw.subject, raw.data, raw.headers, error, delivered)
            self.metrics.handled.labels(self.service, name, "dead_lettered").inc()
            return None
        outcome = "unavailable" if transient else "retry"
        self.metrics.handled.labels(self.service, name, outcome).inc()
        delay = self.delay(delivered)
        self.log.warning(
            "%s failed (%s, delivery %d, %d of %d failures), again in %.1fs: %s",
            raw.subject,
            outcome,
            delivered,
            max(failures, 0),
            self.max_deliver,
            delay,
            error,
        )
        await nack(delay=delay)  # JetStream redelivers after the backoff
        return delay

    async def batch_failed(self, name: str, messages: list[Msg], error: Exception) -> None:
        """A batch handled as one (``ServiceRuntime.guarded_batch``) failed: every message is
        NACKed with the backoff of the most delivered one, except one on its last allowed
        delivery after a failure that is not transient, which is dead-lettered."""
        transient = is_transient(error)
        outcome = "unavailable" if transient else "retry"
        most = max((deliveries(m) for m in messages), default=1)
        delay = self.delay(most)
        self.metrics.handled.labels(self.service, name, outcome).inc(len(messages))
        self.log.warning(
            "a batch of %d failed (%s, delivery %d), again in %.1fs: %s",
            len(messages),
            outcome,
            most,
            delay,
            error,
        )
        for message in messages:
            if not transient and deliveries(message) >= self.max_deliver:
                await self.dead_letter(message.subject, message.data, message.headers, error, most)
                await message.ack()
            else:
                await message.nak(delay=delay)

    async def handle_batch(self, name: str, handler: BatchHandler, raws: list[Any]) -> float | None:
        """One fetched batch through the handler, acknowledged; a batch that fails is handled
        again message by message (``one_by_one``). After a transient failure, the delay its
        messages were NACKed with."""
        started = time.perf_counter()
        try:
            with consuming_batch(raws, self.namespace):
                await handler([raw.data for raw in raws])
        except Exception as error:
            self.log.info("%s batch of %d failed, one at a time: %s", name, len(raws), error)
            return await self.one_by_one(name, handler, raws)
        else:
            for raw in raws:
                await raw.ack()
                self.succeeded(raw)
            self.metrics.handled.labels(self.service, name, "ok").inc(len(raws))
            return None
        finally:
            self.metrics.handling_seconds.labels(self.service, name).observe(
                time.perf_counter() - started
            )

    async def one_by_one(self, name: str, handler: BatchHandler, raws: list[Any]) -> float | None:
        """Each message alone, through ``failed``'s rules; after a transient failure the rest
        are NACKed too, so they come again in their order (the delay returned)."""
        ok = self.metrics.handled.labels(self.service, name, "ok")
        for index, raw in enumerate(raws):
            try:
                await handler([raw.data])
            except Exception as error:
                delay = await self.failed(name, raw, error, redelivers=True, nack=raw.nak)
                if delay is None:
                    await raw.ack()  # dead-lettered
                elif is_transient(error):
                    for later in raws[index + 1 :]:
                        await later.nak(delay=delay)
                    return delay
            else:
                self.succeeded(raw)
                ok.inc()
                await raw.ack()
        return None

    def _count_transient(self, key: tuple[str, int]) -> None:
        if key not in self._transient and len(self._transient) >= TRACKED_MESSAGES:
            del self._transient[next(iter(self._transient))]
        self._transient[key] = self._transient.get(key, 0) + 1


def deliveries(raw: Any) -> int:
    """How many times JetStream delivered the message (1 on core NATS)."""
    try:
        return int(raw.metadata.num_delivered)
    except Exception:  # core NATS messages have no JetStream metadata
        return 1


def message_key(raw: Any) -> tuple[str, int] | None:
    """The stream and stream sequence of a JetStream message (None on core NATS)."""
    try:
        metadata = raw.metadata
        return (str(metadata.stream), int(metadata.sequence.stream))
    except Exception:  # core NATS messages have no JetStream metadata
        return None


def is_jetstream(raw: Any) -> bool:
    reply: Any = raw.reply
    return isinstance(reply, str) and reply.startswith("$JS.ACK")
