"""Requests reach the replica that owns their account's partition, whichever one received them.

A service run as replicas answers its public request subjects in one queue group, so any replica
may receive a request. The receiver reads only the account id: when it serves the account's
partition it answers itself, else it forwards the message unchanged to the partition's subject
(``<service>.p<k>.…``), which only the owner subscribes, and relays the owner's answer; when no
one listens there (the owner died and its lease has not expired yet) it answers ``unavailable``
at once. A partition no one holds (the seconds of a takeover, as the last poll of the leases saw
it) is answered ``unavailable`` at once too: a caller is never left to time out, it retries
(queries change nothing). ``route(relay=False)`` forwards with the caller's reply subject
instead, the owner answering the caller directly, one hop less but blind to a dead owner.

A request that names no account is scattered to every partition's subject and the answers
merged by the caller's ``merge``: right across partitions or, when a partition has no owner,
refused as ``unavailable`` (never an answer with partitions missing).

Both services run as replicas route through it: execution's queries (relayed), and portfolio's
commands (forwarded with the caller's reply subject: a relay's timeout must not answer
"unavailable" for a command that is still being decided) and queries (its list of accounts
gathered from every partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from faststream.nats.message import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.trace import SpanKind

from papertape.common.bus.permissions import is_inbox
from papertape.common.runtime import Handler, ServiceRuntime
from papertape.common.telemetry.tracing import extract_context
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.partitions import partition_of

SCATTER_TIMEOUT_S = 5.0
Owned = Callable[[int], bool]
Merge = Callable[[Sequence[msgspec.Raw]], object]
"""The one answer made of every partition's result (each the raw JSON of its ``result``)."""


class _Addressee(msgspec.Struct):
    account_id: str | None = None


class _Addressed(msgspec.Struct):
    """Just enough of a request to route it (the rest is decoded by its owner)."""

    body: _Addressee


class _Gathered(msgspec.Struct):
    ok: bool
    result: msgspec.Raw = msgspec.Raw(b"null")  # (msgspec reads no ``Raw | None``)
    error_code: str | None = None
    error: str | None = None


_addressed = msgspec.json.Decoder(_Addressed)
_gathered = msgspec.json.Decoder(_Gathered)


def addressee(data: bytes) -> str | None:
    """The account a request names ("" when none; None when it cannot be read: its handler
    refuses it as malformed)."""
    try:
        return _addressed.decode(data).body.account_id or ""
    except msgspec.DecodeError:
        return None


def _no_owner_message(k: int) -> str:
    return f"partition {k} has no owner right now (a takeover); retry"


def no_owner(k: int) -> bytes:
    """The reply to a request of partition ``k`` while no one serves it."""
    return encode(
        Reply(ok=False, error_code=ReplyErrorCode.UNAVAILABLE, error=_no_owner_message(k))
    )


class Router:
    """Answers requests of the partitions this replica serves and forwards the others.

    ``serving(k)``: this replica answers partition ``k`` now (held and rebuilt);
    ``unowned(k)``: no replica can (no one holds it, or this one is still rebuilding it).
    """

    def __init__(
        self,
        runtime: ServiceRuntime,
        partitions: int,
        serving: Owned,
        unowned: Owned,
        *,
        queue: str,
        workers: int = 16,
    ) -> None:
        self._runtime = runtime
        self._partitions = partitions
        self._serving, self._unowned = serving, unowned
        self._queue = queue
        self._slots = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tracer = runtime.tracer_provider.get_tracer("papertape.common.bus.routing")

    @property
    def _nc(self) -> Client:
        return self._runtime.broker.connection

    async def serve(self, subject: str, handler: Handler[bytes]) -> Subscription:
        """Answer ``subject`` (a partition's) with ``handler``, up to ``workers`` at once."""
        return await self._subscribe(subject, lambda raw: self._answer(raw, handler))

    async def route(
        self,
        subject: str,
        handler: Handler[bytes],
        forward_to: Callable[[int, Msg], str],
        *,
        gather: Callable[[int, Msg], str] | None = None,
        merge: Merge | None = None,
        relay: bool = True,
    ) -> Subscription:
        """The public ``subject``: answered here when served, else forwarded to the owner's
        ``forward_to(k, msg)``; a request of no account goes to every ``gather(k, msg)`` and
        the answers are ``merge``d.

        ``relay``: the owner's answer comes back through this replica, which answers
        ``unavailable`` at once when no one listens on the partition's subject (its holder died
        and its lease has not expired yet). Without it the request is forwarded with the
        caller's reply subject, one hop less, but a caller whose partition's holder just died
        waits out its own timeout: NATS tells only the publisher that no one listens.
        """

        async def one(raw: Msg) -> None:
            account = addressee(raw.data)
            if account is None or (raw.reply and not is_inbox(raw.reply)):  # its handler refuses
                await self._answer(raw, handler)
            elif not account and gather is not None and merge is not None:
                await self._reply(raw, await self._scatter(raw, gather, merge))
            else:
                k = partition_of(account, self._partitions)
                if self._serving(k):
                    await self._answer(raw, handler)
                elif self._unowned(k):
                    await self._reply(raw, no_owner(k))
                else:
                    try:
                        owner = forward_to(k, raw)
                    except ValueError:  # a query name no subject token: its handler says so
                        await self._answer(raw, handler)
                        return
                    if relay:
                        await self._reply(raw, await self._relayed(owner, raw, k))
                    else:
                        await self._nc.publish(
                            owner, raw.data, reply=raw.reply, headers=raw.headers
                        )

        return await self._subscribe(subject, one)

    async def _subscribe(
        self, subject: str, handle: Callable[[Msg], Awaitable[None]]
    ) -> Subscription:
        async def on_message(raw: Msg) -> None:
            await self._slots.acquire()
            task = asyncio.create_task(self._released(handle, raw))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return await self._nc.subscribe(
            subject, queue=self._queue, cb=on_message, pending_msgs_limit=1_000_000
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
        if raw.reply and is_inbox(raw.reply):  # ``replying`` dead-letters any other
            await self._nc.publish(raw.reply, payload)

    async def _relayed(self, owner: str, raw: Msg, k: int) -> bytes:
        """The owner's answer, or ``unavailable`` when it is gone or too slow."""
        try:
            answer = await self._nc.request(
                owner, raw.data, timeout=SCATTER_TIMEOUT_S, headers=raw.headers
            )
        except Exception:  # no one serves it right now (no responders), or too slow
            return no_owner(k)
        return answer.data

    async def _scatter(self, raw: Msg, gather: Callable[[int, Msg], str], merge: Merge) -> bytes:
        """Ask every partition's owner and merge their answers, or refuse as unavailable."""

        async def ask(k: int) -> _Gathered:
            if self._unowned(k):
                return _Gathered(ok=False, error_code=ReplyErrorCode.UNAVAILABLE)
            try:
                answer = await self._nc.request(
                    gather(k, raw), raw.data, timeout=SCATTER_TIMEOUT_S, headers=raw.headers
                )
                return _gathered.decode(answer.data)
            except Exception as error:  # no owner right now (no responders), or too slow
                message = f"partition {k} has no owner right now; retry ({type(error).__name__})"
                return _Gathered(ok=False, error_code=ReplyErrorCode.UNAVAILABLE, error=message)

        answers = await asyncio.gather(*(ask(k) for k in range(self._partitions)))
        for k, answer in enumerate(answers):
            if not answer.ok:
                error = answer.error or _no_owner_message(k)
                return encode(Reply(ok=False, error_code=answer.error_code, error=error))
        return encode(Reply(ok=True, result=merge([answer.result for answer in answers])))

    async def drain(self) -> None:
        """Wait for the requests in hand (at a stop)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
