"""The gateway's own request multiplexer over NATS: one wildcard inbox subscription, a reply
matched to its request by a counter's token.

nats-py's ``Client.request`` (new style) also multiplexes on one wildcard inbox, but pays per
request for a token from ``secrets.token_hex`` (a syscall) and a NUID, a done callback on its
future and ``asyncio.wait_for`` (on Python 3.11 a second future, a timer and a callback, and a
loop hop more before the caller wakes). Here a request is a counter's token, a future the
caller awaits directly and a timer that fails it with nats-py's ``TimeoutError``; a reply
resolves the future in the subscription's callback. A "no responders" status (503) fails it
with ``NoRespondersError``, as nats-py's request does.
"""

from __future__ import annotations

import asyncio
from itertools import count

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

_STATUS = "Status"
_NO_RESPONDERS = "503"


class Replies:
    """Requests over ``nc`` whose replies come to one wildcard inbox subscription."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._pending: dict[str, asyncio.Future[Msg]] = {}
        self._tokens = count()
        self._prefix = ""
        self._subscribing: asyncio.Task[Subscription] | None = None

    async def request(
        self,
        subject: str,
        payload: bytes,
        *,
        within: float,
        headers: dict[str, str] | None = None,
    ) -> Msg:
        """The reply to ``payload`` sent on ``subject``; ``NatsTimeout`` when none comes within
        ``within`` seconds, ``NoRespondersError`` when nothing listens on ``subject``."""
        if not self._prefix:
            await self._subscribe()
        token = str(next(self._tokens))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Msg] = loop.create_future()
        self._pending[token] = future
        timer = loop.call_later(within, _expire, future)
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
            return await future
        finally:
            timer.cancel()
            self._pending.pop(token, None)

    async def _subscribe(self) -> None:
        """Subscribe to the inbox once, however many requests wait for it at first."""
        if self._subscribing is None:
            self._subscribing = asyncio.ensure_future(self._open(self.nc.new_inbox() + "."))
        subscribing = self._subscribing
        try:
            await asyncio.shield(subscribing)
        except BaseException:
            if subscribing.done() and self._subscribing is subscribing:
                self._subscribing = None  # failed: the next request tries again
            raise

    async def _open(self, prefix: str) -> Subscription:
        subscription = await self.nc.subscribe(prefix + "*", cb=self._on_reply)
        self._prefix = prefix
        return subscription

    async def _on_reply(self, msg: Msg) -> None:
        future = self._pending.pop(msg.subject[len(self._prefix) :], None)
        if future is None or future.done():
            return  # late (timed out) or not ours
        if msg.headers and msg.headers.get(_STATUS) == _NO_RESPONDERS:
            future.set_exception(NoRespondersError())
        else:
            future.set_result(msg)


def _expire(future: asyncio.Future[Msg]) -> None:
    if not future.done():
        future.set_exception(NatsTimeout())
