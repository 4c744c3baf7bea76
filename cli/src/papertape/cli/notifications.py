"""A request-reply client of the notification service, and how its answers print for people."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.cli import endpoints
from papertape.cli.client import (
    EXIT_INVALID,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    MALFORMED_REPLY,
    PortfolioUnavailable,
    Refused,
    cli_actor,
    connected,
)
from papertape.cli.output import fail, print_json, print_rows
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, encode, to_builtins
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.notifications import (
    NOTIFICATION_QUERY_RESULTS,
    AddEndpoint,
    DeliveryView,
    EndpointView,
    NotificationCommand,
    NotificationQuery,
    ResendDeadLetter,
    RuleView,
)

command_results: dict[type[Any], Any] = {AddEndpoint: EndpointView, ResendDeadLetter: DeliveryView}
query_replies: dict[type[Any], Codec[Reply[Any]]] = {
    query: Codec(cast(Any, Reply)[result]) for query, result in NOTIFICATION_QUERY_RESULTS.items()
}
rule_replies: Codec[Reply[RuleView | None]] = Codec(Reply[RuleView | None])


class NotificationsClient:
    """Sends notification commands and queries over NATS request-reply."""

    def __init__(self, nc: Client, subjects: Any, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.subjects = subjects
        self.timeout = timeout
        self.actor = cli_actor()
        self.ids = Uuid7Generator()

    async def command(self, body: NotificationCommand) -> Any:
        """Send a command; its result (an endpoint, a rule, a delivery), or ``Refused``."""
        result = command_results.get(type(body))
        codec = Codec(cast(Any, Reply)[result]) if result is not None else rule_replies
        subject = self.subjects.notification_command()
        return (await self._request(subject, body, codec)).result

    async def query(self, body: NotificationQuery) -> Any:
        """Ask a query; its result as ``NOTIFICATION_QUERY_RESULTS`` says."""
        subject = self.subjects.notification_query(message_name(type(body)))
        return (await self._request(subject, body, query_replies[type(body)])).result

    async def _request(self, subject: str, body: Any, codec: Codec[Reply[Any]]) -> Reply[Any]:
        request = Request(
            request_id=self.ids.new(), issued_at=datetime.now(UTC), actor=self.actor, body=body
        )
        try:
            msg = await self.nc.request(subject, encode(request), timeout=self.timeout)
        except (NoRespondersError, NatsTimeout) as error:
            raise PortfolioUnavailable(
                f"no notification service answered on {subject} ({type(error).__name__})"
            ) from error
        try:
            reply = codec.decode(msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise Refused(MALFORMED_REPLY, str(error)) from error
        if not reply.ok:
            raise Refused(reply.error_code or ReplyErrorCode.INTERNAL_ERROR, reply.error or "")
        return reply


NotificationsAction = Callable[[NotificationsClient, argparse.Namespace], Coroutine[Any, Any, int]]


def notifications_handler(action: NotificationsAction) -> Callable[[argparse.Namespace], int]:
    """A subcommand handler that runs ``action`` with a client, reporting refusals clearly."""

    def handle(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(_with_client(args, action))
        except Refused as refusal:
            return fail(f"refused: {refusal.code}: {refusal.message}", EXIT_REFUSED)
        except PortfolioUnavailable as error:
            return fail(f"{error} (is `papertape run` up? see --nats-url)", EXIT_UNAVAILABLE)
        except ValueError as error:  # a command built out of the contract's bounds: never sent
            return fail(f"invalid: {error}", EXIT_INVALID)

    return handle


async def _with_client(args: argparse.Namespace, action: NotificationsAction) -> int:
    async with connected(endpoints.nats_url(args)) as nc:
        client = NotificationsClient(nc, endpoints.subjects(args), timeout=args.timeout)
        return await action(client, args)


RULE_COLUMNS = ("rule_id", "happenings", "endpoints", "websocket", "min_confidence", "drawdown_pct")
ENDPOINT_COLUMNS = ("endpoint_id", "kind", "url", "email", "chat_id", "has_secret")
DELIVERY_COLUMNS = (
    "delivery_id",
    "endpoint_id",
    "happening",
    "status",
    "attempts",
    "created_at",
    "last_error",
    "latency_ms",
)


def show(title: str, value: Any, columns: Sequence[str], args: argparse.Namespace) -> int:
    """Print a view or a list of views: JSON with ``--json``, else a table."""
    if args.json:
        print_json(value)
        return 0
    rows = [to_builtins(v) for v in (value if isinstance(value, list) else [value])]
    for row in rows:
        history = row.get("history") or []
        if history:
            row["latency_ms"] = history[-1]["latency_ms"]
    print_rows(title, rows, columns)
    return 0
