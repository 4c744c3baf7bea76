"""A request-reply client of the signal service, and how its answers print for people."""

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
from papertape.cli.output import fail, print_record, print_rows
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, encode, to_builtins
from papertape.contract.events.base import Query, message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
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
        request = Request(
            request_id=self.ids.new(), issued_at=datetime.now(UTC), actor=self.actor, body=body
        )
        try:
            msg = await self.nc.request(subject, encode(request), timeout=self.timeout)
        except (NoRespondersError, NatsTimeout) as error:
            raise PortfolioUnavailable(
                f"no signal service answered on {subject} ({type(error).__name__})"
            ) from error
        try:
            reply = codec.decode(msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise Refused(MALFORMED_REPLY, str(error)) from error
        if not reply.ok:
            raise Refused(reply.error_code or ReplyErrorCode.INTERNAL_ERROR, reply.error or "")
        return reply


SignalsAction = Callable[[SignalsClient, argparse.Namespace], Coroutine[Any, Any, int]]


def signals_handler(action: SignalsAction) -> Callable[[argparse.Namespace], int]:
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


async def _with_client(args: argparse.Namespace, action: SignalsAction) -> int:
    async with connected(endpoints.nats_url(args)) as nc:
        return await action(SignalsClient(nc, endpoints.subjects(args), timeout=args.timeout), args)


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
    "unrealized_pnl",
    "total_pnl",
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
    "unrealized_pnl",
    "total_pnl",
    "max_drawdown",
)
TRADE_COLUMNS = (
    "symbol",
    "side",
    "quantity",
    "entry_at",
    "entry_price",
    "exit_at",
    "exit_price",
    "pnl",
    "exit_reason",
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


def print_trades(view: SessionView) -> None:
    """A session's round trips, oldest first, the open ones last (no exit yet)."""
    rows = [to_builtins(t) for t in view.closed_trades]
    print_rows(f"trades of {view.session_id}", rows, TRADE_COLUMNS)


def print_signals(signals: Sequence[SignalGenerated]) -> None:
    print_rows("signals", [to_builtins(s) for s in signals], SIGNAL_COLUMNS)
