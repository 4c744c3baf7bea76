"""The venue's book from the ACCOUNTS stream: replayed from its first message, then followed.

An ordered consumer delivers every account event once, in stream order, and never redelivers:
the guard (``ServiceRuntime.guarded``, ``redelivers=False``) dead-letters a failure at once, and
nothing is acknowledged. It is a nats-py subscription of its own, not a FastStream subscriber:
FastStream's per-message machinery (bus middlewares, its span, dependency injection) cost several
times the handling of an account event, a third of the venue's time under load. A missed
heartbeat makes the client recreate the consumer where it left off: 1 s (not nats-py's 5 s)
keeps the book at most a few seconds behind after NATS is restarted under it. The book is whole
(``caught_up``) once the last message the stream held at the start has been handled. Only the
events that change what the venue holds are read (``FOLLOWED_NAMES``, by their subject's last
token, which the portfolio's relay names after the event's type): marks, cash movements,
refusals and closed positions, a good part of the stream under load, are passed over unread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from faststream.nats import NatsMessage
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy

from papertape.common.bus import consumers
from papertape.common.runtime import ServiceRuntime
from papertape.trading.venue.engine import FOLLOWED_NAMES

IDLE_HEARTBEAT_S = 1.0


class AccountsReplay:
    """ACCOUNTS from its first message to ``handle`` (the events the venue follows); with
    ``holds``, only those of the subjects it holds (a partition's accounts); while ``live``
    answers False, nothing."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        handle: Callable[[bytes], Awaitable[None]],
        *,
        holds: Callable[[str], bool] | None = None,
        live: Callable[[], bool] | None = None,
        caught_up: asyncio.Event | None = None,
    ) -> None:
        self.runtime = runtime
        self.caught_up = caught_up or asyncio.Event()
        """Set once the events the stream held at ``start`` have all been handled."""
        self.seen = 0
        self._handle = handle
        self._holds = holds
        self._live = live

    async def start(self) -> Subscription:
        """Note how far the replay must get, then subscribe (the caller unsubscribes)."""
        runtime, subjects = self.runtime, self.runtime.subjects
        info = await runtime.js.stream_info(subjects.stream("ACCOUNTS"))
        catch_up_to = info.state.last_seq
        if catch_up_to == 0:
            self.caught_up.set()
        handle, holds, live, caught_up = self._handle, self._holds, self._live, self.caught_up
        tracer = runtime.tracer_provider.get_tracer("papertape.execution")

        @runtime.guarded("account_event", redelivers=False)
        async def on_account_event(msg: NatsMessage) -> None:
            await handle(msg.body)

        async def on_message(raw: Msg) -> None:
            if live is not None and not live():
                return
            try:
                subject = raw.subject
                if subject.rpartition(".")[2] in FOLLOWED_NAMES and (
                    holds is None or holds(subject)
                ):
                    with consumers.consuming(tracer, raw):  # the trace the event carries
                        await on_account_event(consumers.wrapped(raw))
            finally:
                self.seen += 1
                if not caught_up.is_set() and raw.metadata.sequence.stream >= catch_up_to:
                    caught_up.set()

        return await runtime.js.subscribe(
            subjects.all_account_events(),
            stream=subjects.stream("ACCOUNTS"),
            cb=on_message,
            ordered_consumer=True,
            idle_heartbeat=IDLE_HEARTBEAT_S,
            deliver_policy=DeliverPolicy.ALL,
            pending_msgs_limit=1_000_000,
        )
