"""A request-reply client of the signal service, and how its answers print for people."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, cast

from nats.aio.client import Client

from papertape.cli import endpoints
from papertape.cli.client import ask, cli_actor, connected, reporting
from papertape.cli.output import print_record, print_rows
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, to_builtins
from papertape.contract.events.base import Query, message_name
from papertape.contract.events.envelope import Reply
from papertape.contract.events.sessions import (
    SIGNALS_QUERY_RESULTS,
    SessionCommand,
    SessionView,
)
from papertape.contract.events.signals import SignalGenerated
from papertape.contract.subjects import Subjects

command_replies: Codec[Reply[SessionView]] = Codec(Reply[SessionView])
query_replies: dict[type[Any], Codec[Reply[Any]]] = {
    query: Codec(cast(Any, Reply)[result]) for query, result in SIGNALS_QUERY_RESULTS.items()
}


class SignalsClient:
    """Sends session commands and queries to the signal service over NATS request-reply."""

    def __init__(self, nc: Client, subjects: Subjects, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.subjects = subjects
        self.timeout = timeout
        self.actor = cli_actor()
        self.ids = Uuid7Generator()

    async def command(self, body: SessionCommand) -> SessionView:
        """Send a session command; the session's status after it, or ``Refused``."""
        reply = await self._request(self.subjects.signals_command(), body, command_replies)
        assert isinstance(reply.result, SessionView)
        return reply.result

    async def query(self, body: Query) -> Any:
        """Ask a query; its result as ``SIGNALS_QUERY_RESULTS`` says."""
        subject = self.subjects.signals_query(message_name(type(body)))
        return (await self._request(subject, body, query_replies[type(body)])).result

    async def _request(self, subject: str, body: Any, codec: Codec[Reply[Any]]) -> Reply[Any]:
        return await ask(self.nc, subject, body, codec, self, service="signal")


SignalsAction = Callable[[SignalsClient, argparse.Namespace], Coroutine[Any, Any, int]]


def signals_handler(action: SignalsAction) -> Callable[[argparse.Namespace], int]:
    """A subcommand handler that runs ``action`` with a client, reporting refusals clearly."""

    async def run(args: argparse.Namespace) -> int:
        async with connected(endpoints.nats_url(args)) as nc:
            client = SignalsClient(nc, endpoints.subjects(args), timeout=args.timeout)
            return await action(client, args)

    return reporting(run)


SESSION_FIELDS = (
    "session_id",
    "account_id",
    "strategy",
    "symbols",
    "timeframe",
    "mode",
    "status",
    "reason",
    "error",
    "started_at",
    "running_s",
    "signals",
    "orders_placed",
    "orders_refused",
    "refusals",
    "fills",
    "trades",
    "wins",
    "win_rate",
    "realized_pnl",
    "max_drawdown",
    "open_positions",
)
SESSION_COLUMNS = (
    "session_id",
    "account_id",
    "strategy",
    "status",
    "signals",
    "orders_placed",
    "orders_refused",
    "trades",
    "win_rate",
    "realized_pnl",
    "max_drawdown",
)
SIGNAL_COLUMNS = (
    "ts",
    "session_id",
    "strategy",
    "symbol",
    "decision",
    "confidence",
    "level",
    "entry",
    "stop",
    "targets",
    "reasoning",
)


def _row(view: SessionView) -> dict[str, Any]:
    row: dict[str, Any] = to_builtins(view)
    row["signals"] = sum(view.signals.values())
    return row


def print_session(view: SessionView) -> None:
    print_record(f"session {view.session_id}", to_builtins(view), SESSION_FIELDS)


def print_sessions(title: str, views: Sequence[SessionView]) -> None:
    print_rows(title, [_row(v) for v in views], SESSION_COLUMNS)


def print_signals(signals: Sequence[SignalGenerated]) -> None:
    print_rows("signals", [to_builtins(s) for s in signals], SIGNAL_COLUMNS)
