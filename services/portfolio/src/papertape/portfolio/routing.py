"""Requests reach the replica that owns their account's partition.

Every replica answers the public subjects (``portfolio.command``, ``portfolio.query.*``) in
the queue group ``portfolio``, so any of them may receive a request. It reads only the
account id: when it owns the account's partition it handles the request itself, else it
forwards the message unchanged, with the caller's reply subject, to the partition's subject
(``portfolio.p<k>.command`` / ``portfolio.p<k>.query.<q>``), which only the owner subscribes:
the owner answers the caller directly. While a partition has no owner (the seconds of a
takeover) a request for it is answered ``unavailable`` at once (the ownership's last poll saw
no holder), or, in the half second before that poll, forwarded to no one: NATS tells only the
publisher that no one listens, so the caller waits out its timeout. Either way it retries:
requests are idempotent by their id.

A request that names no account (the list of accounts) is scattered to every partition's
subject and the answers gathered, sorted by account: the list is right across partitions or,
when a partition has no owner, refused as ``unavailable`` (never a list with accounts missing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec
from faststream.nats.message import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.trace import SpanKind

from papertape.common.runtime import Handler, ServiceRuntime
from papertape.common.telemetry.tracing import extract_context
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.events.reports import AccountListing
from papertape.contract.partitions import partition_of

SCATTER_TIMEOUT_S = 5.0
Owned = Callable[[int], bool]


class _Addressee(msgspec.Struct):
    account_id: str = ""


class _Addressed(msgspec.Struct):
    """Just enough of a request to route it (the rest is decoded by its owner)."""

    body: _Addressee


class _Gathered(msgspec.Struct):
    ok: bool
    result: list[AccountListing] | None = None
    error_code: str | None = None
    error: str | None = None


_addressed = msgspec.json.Decoder(_Addressed)
_gathered = msgspec.json.Decoder(_Gathered)


def addressee(data: bytes) -> str | None:
    """The account a request names ("" when none; None when it cannot be read: its handler
    refuses it as malformed)."""
    try:
        return _addressed.decode(data).body.account_id
    except msgspec.DecodeError:
        return None


def _no_owner(k: int) -> bytes:
    message = f"partition {k} has no owner right now (a takeover); retry"
    return encode(Reply(ok=False, error_code=ReplyErrorCode.UNAVAILABLE, error=message))


class Router:
    """Serves requests of the partitions this replica owns and forwards the others."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        partitions: int,
        owned: Owned,
        unowned: Owned,
        *,
        workers: int,
    ) -> None:
        self._runtime = runtime
        self._partitions = partitions
        self._owned, self._unowned = owned, unowned
        self._slots = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tracer = runtime.tracer_provider.get_tracer("papertape.portfolio.routing")

    @property
    def _nc(self) -> Client:
        return self._runtime.broker.connection

    async def serve(self, subject: str, handler: Handler[bytes], *, queue: str) -> Subscription:
        """Answer ``subject`` with ``handler``, up to ``workers`` requests at once (a core
        subscription calls back one message at a time; an append takes a commit)."""
        return await self._subscribe(subject, queue, lambda raw: self._answer(raw, handler))

    async def route(
        self,
        subject: str,
        handler: Handler[bytes],
        forward_to: Callable[[int, Msg], str],
        *,
        gather: Callable[[int], str] | None = None,
    ) -> Subscription:
        """The public ``subject``: handled here when owned, else forwarded to the owner's
        ``forward_to(k, msg)``; a request of no account goes to every ``gather(k)``."""

        async def one(raw: Msg) -> None:
            account = addressee(raw.data)
            if account is None:
                await self._answer(raw, handler)
            elif not account and gather is not None:
                await self._reply(raw, await self._scatter(raw, gather))
            else:
                k = partition_of(account, self._partitions)
                if self._owned(k):
                    await self._answer(raw, handler)
                elif self._unowned(k):
                    await self._reply(raw, _no_owner(k))
                else:
                    try:
                        owner = forward_to(k, raw)
                    except ValueError:  # a query name no subject token: its handler says so
                        await self._answer(raw, handler)
                        return
                    await self._nc.publish(owner, raw.data, reply=raw.reply, headers=raw.headers)

        return await self._subscribe(subject, "portfolio", one)

    async def _subscribe(
        self, subject: str, queue: str, handle: Callable[[Msg], Awaitable[None]]
    ) -> Subscription:
        async def on_message(raw: Msg) -> None:
            await self._slots.acquire()
            task = asyncio.create_task(self._released(handle, raw))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return await self._nc.subscribe(
            subject, queue=queue, cb=on_message, pending_msgs_limit=1_000_000
        )

    async def _released(self, handle: Callable[[Msg], Awaitable[None]], raw: Msg) -> None:
        try:
            await handle(raw)
        except Exception:
            self._runtime.log.exception("request on %s failed", raw.subject)
        finally:
            self._slots.release()

    async def _answer(self, raw: Msg, handler: Handler[bytes]) -> None:
        msg = NatsMessage(
            raw_message=raw,
            body=raw.data,
            headers=raw.headers or {},
            reply_to=raw.reply,
            correlation_id=raw.reply or raw.subject,
        )
        context = extract_context(raw.headers)
        with self._tracer.start_as_current_span(
            f"{raw.subject} process", context=context, kind=SpanKind.CONSUMER
        ):
            await self._reply(raw, await handler(msg))

    async def _reply(self, raw: Msg, payload: bytes) -> None:
        if raw.reply:
            await self._nc.publish(raw.reply, payload)

    async def _scatter(self, raw: Msg, gather: Callable[[int], str]) -> bytes:
        """Ask every partition's owner and merge their lists, or refuse as unavailable."""

        async def ask(k: int) -> _Gathered:
            try:
                answer = await self._nc.request(
                    gather(k), raw.data, timeout=SCATTER_TIMEOUT_S, headers=raw.headers
                )
                return _gathered.decode(answer.data)
            except Exception as error:  # no owner right now (no responders), or too slow
                message = f"partition {k} has no owner right now; retry ({type(error).__name__})"
                return _Gathered(ok=False, error_code=ReplyErrorCode.UNAVAILABLE, error=message)

        answers = await asyncio.gather(*(ask(k) for k in range(self._partitions)))
        for answer in answers:
            if not answer.ok:
                return encode(Reply(ok=False, error_code=answer.error_code, error=answer.error))
        merged = sorted(
            (listing for answer in answers for listing in answer.result or []),
            key=lambda listing: listing.account_id,
        )
        return encode(Reply(ok=True, result=merged))

    async def drain(self) -> None:
        """Wait for the requests in hand (at a stop)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
