"""Bus handlers of the notification service: decode, hand to the notifier or the book, answer.

Four durable consumers (ACCOUNTS, EXECUTION, and SIGNALS twice: signals and sessions) start
at the messages published once they exist, so a first start does not notify the streams'
history; a restart goes on from its last acknowledged message. Each takes a batch at a time and
handles it in stream order (an order's placement, its role, is seen before its fill), then
stores the batch's deliveries in one insert before the batch is acknowledged; a message that
cannot be read is dead-lettered and the rest go on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsMessage
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from papertape.common.bus.batches import BatchConsumer
from papertape.common.bus.deadletters import is_malformed
from papertape.common.runtime import ServiceRuntime
from papertape.contract.codec import Codec, encode
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.notifications import (
    AddEndpoint,
    EndpointKind,
    ListDeadLetters,
    ListDeliveries,
    ListEndpoints,
    ListRules,
    NotificationCommand,
    NotificationQuery,
    RemoveEndpoint,
    ResendDeadLetter,
)
from papertape.notification.book import RuleBook
from papertape.notification.notifier import Notifier, Outbox
from papertape.notification.rules import Refusal, endpoint_view, rule_view
from papertape.notification.secrets import Secrets
from papertape.notification.vault import new_secret

BATCH = 100
LINGER_S = 0.01
"""After a batch's first message, how long more may join it (the latency a batch adds)."""
command_requests: Codec[Request[NotificationCommand]] = Codec(Request[NotificationCommand])
query_requests: Codec[Request[NotificationQuery]] = Codec(Request[NotificationQuery])


class Commands:
    """Rule and endpoint commands, and re-sends of dead letters."""

    def __init__(self, book: RuleBook, notifier: Notifier, secrets: Secrets) -> None:
        self.book = book
        self.notifier = notifier
        self.store = notifier.store
        self.secrets = secrets

    async def execute(self, request: Request[NotificationCommand]) -> Reply[Any]:
        command = request.body
        try:
            if isinstance(command, ResendDeadLetter):
                return await self._resend(command)
            secret = None
            if isinstance(command, AddEndpoint):
                self.book.check(command)  # a refused endpoint never replaces a kept secret
                secret = await self._keep_secret(command)
            envelopes = await self.book.execute(request)
        except Refusal as refusal:
            return Reply(ok=False, error_code=refusal.code, error=str(refusal))
        if isinstance(command, RemoveEndpoint):
            await self.secrets.erase(command.account_id, command.endpoint_id)
        for envelope in envelopes:
            await self.notifier.publish(envelope)
        state = self.book.of(command.account_id)
        if isinstance(command, AddEndpoint):
            added = state.endpoints[command.endpoint_id]
            return Reply(ok=True, result=endpoint_view(added, secret))
        rule = state.rules.get(getattr(command, "rule_id", ""))
        return Reply(ok=True, result=rule_view(rule) if rule is not None else None)

    async def _keep_secret(self, command: AddEndpoint) -> str | None:
        """Seal and store the endpoint's secret (a webhook's is made when not given); it is
        stored before the endpoint is, so a delivery never finds an endpoint without one."""
        if command.kind is EndpointKind.EMAIL:
            return None
        secret = command.secret or new_secret()
        await self.secrets.put(command.account_id, command.endpoint_id, secret)
        return secret

    async def _resend(self, command: ResendDeadLetter) -> Reply[Any]:
        found = await self.store.get(command.delivery_id)
        if found is None or found.account_id != command.account_id:
            raise Refusal("unknown_delivery", f"delivery_id {command.delivery_id!r} is unknown")
        revived = await self.store.resend(
            command.delivery_id, self.notifier.budget, self.notifier.clock.now()
        )
        if revived is None:
            raise Refusal("not_dead_lettered", f"delivery_id {command.delivery_id!r} is not dead")
        if self.notifier.dispatcher is not None:
            self.notifier.dispatcher.wake()
        return Reply(ok=True, result=await self.store.view(revived.delivery_id))

    async def answer(self, query: NotificationQuery) -> Any:
        if isinstance(query, ListRules):
            return [rule_view(r) for r in self.book.of(query.account_id).rules.values()]
        if isinstance(query, ListEndpoints):
            return [endpoint_view(e) for e in self.book.of(query.account_id).endpoints.values()]
        if isinstance(query, ListDeliveries):
            return await self.store.views(
                account_id=query.account_id,
                endpoint_id=query.endpoint_id,
                limit=query.limit,
                before=query.before,
            )
        assert isinstance(query, ListDeadLetters)
        return await self.store.views(
            account_id=query.account_id, dead_only=True, limit=query.limit, before=query.before
        )


def register(
    runtime: ServiceRuntime, notifier: Notifier, commands: Commands
) -> list[Callable[[], BatchConsumer]]:
    """Subscribe the request-reply handlers on the runtime's broker; return the makers of the
    stream consumers, made once connected (``papertape.common.bus.batches``)."""
    subjects = runtime.subjects
    broker = runtime.broker

    def follow(
        subject: str, stream: str, source: str, collect: Callable[[bytes, Outbox], Awaitable[None]]
    ) -> Callable[[], BatchConsumer]:
        @runtime.guarded_batch(source)
        async def on_batch(messages: list[Msg]) -> None:
            out = Outbox()
            for message in messages:
                try:
                    await collect(message.data, out)
                except Exception as error:
                    if not is_malformed(error):
                        raise
                    await runtime.dead_letter(message.subject, message.data, message.headers, error)
            await notifier.flush(out)  # stored before the batch is acknowledged

        config = runtime.consumer_config(ack_wait=30)
        config.deliver_policy = DeliverPolicy.NEW
        config.filter_subject = subject

        return lambda: BatchConsumer(
            runtime.js,
            subject,
            stream=subjects.stream(stream),
            durable=subjects.durable("notification", source),
            config=config,
            handle=on_batch,
            log=runtime.log,
            batch=BATCH,
            linger_s=LINGER_S,
        )

    followers = [
        follow(subjects.all_account_events(), "ACCOUNTS", "accounts", notifier.on_account_event),
        follow(
            subjects.all_execution_reports(), "EXECUTION", "execution", notifier.on_execution_report
        ),
        follow(subjects.all_signals(), "SIGNALS", "signals", notifier.on_signal),
        follow(subjects.all_session_events(), "SIGNALS", "sessions", notifier.on_session_event),
    ]

    @broker.subscriber(subjects.notification_command(), queue="notification")
    @runtime.replying("command")
    async def on_command(msg: NatsMessage) -> bytes:
        return encode(await commands.execute(command_requests.decode(msg.body)))

    @broker.subscriber(subjects.notification_queries(), queue="notification")
    @runtime.replying("query")
    async def on_query(msg: NatsMessage) -> bytes:
        request = query_requests.decode(msg.body)
        return encode(Reply(ok=True, result=await commands.answer(request.body)))

    return followers
