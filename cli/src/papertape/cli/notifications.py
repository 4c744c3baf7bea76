"""A request-reply client of the notification service, and how its answers print for people."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, cast

from nats.aio.client import Client

from papertape.cli import endpoints
from papertape.cli.client import ask, cli_actor, connected, reporting
from papertape.cli.output import print_json, print_rows
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, to_builtins
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply
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
        return await ask(self.nc, subject, body, codec, self, service="notification")


NotificationsAction = Callable[[NotificationsClient, argparse.Namespace], Coroutine[Any, Any, int]]


def notifications_handler(action: NotificationsAction) -> Callable[[argparse.Namespace], int]:
    """A subcommand handler that runs ``action`` with a client, reporting refusals clearly."""

    async def run(args: argparse.Namespace) -> int:
        async with connected(endpoints.nats_url(args)) as nc:
            client = NotificationsClient(nc, endpoints.subjects(args), timeout=args.timeout)
            return await action(client, args)

    return reporting(run)


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
