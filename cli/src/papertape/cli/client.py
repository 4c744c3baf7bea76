"""A small request-reply client of the portfolio service, as the command line's user."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, cast, get_args

import msgspec
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError, NoServersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.cli import endpoints
from papertape.cli.output import fail
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import AccountCommand, AccountRejection
from papertape.contract.events.base import Query, message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.portfolio import QUERY_RESULTS, CommandResult
from papertape.contract.ids import Actor
from papertape.contract.subjects import Subjects

R = TypeVar("R")

MALFORMED_REPLY = "malformed_reply"
"""The client's own code for a reply that does not decode as the contract says it should."""

command_replies: Codec[Reply[CommandResult]] = Codec(Reply[CommandResult])
query_replies: dict[type[Any], Codec[Reply[Any]]] = {
    # Reply[result] built at run time: the result types are values of the table, not literals.
    query: Codec(cast(Any, Reply)[result])
    for query, result in QUERY_RESULTS.items()
}
"""One typed decoder per query: each reply is read as the struct the contract says it carries."""

REJECTIONS: tuple[type[Any], ...] = get_args(AccountRejection)
"""Events that are business refusals: the command line reports them and exits non-zero."""


class PortfolioUnavailable(Exception):
    """No portfolio service answered (not running, wrong URL or namespace, or too slow)."""


class Refused(Exception):
    """The portfolio refused a request: an error reply or a rejection event."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def cli_actor() -> Actor:
    """``cli:<user>``: who the log records as the author of a command-line request."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = "unknown"
    return Actor(f"cli:{user}")


def query_name(query: Query) -> str:
    """The subject token of a query: its snake-case name (``get_account_summary``)."""
    return message_name(type(query))


class PortfolioClient:
    """Sends account commands and queries to the portfolio over NATS request-reply."""

    def __init__(self, nc: Client, subjects: Subjects, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.subjects = subjects
        self.timeout = timeout
        self.actor = cli_actor()
        self.ids = Uuid7Generator()

    async def command(self, body: AccountCommand) -> CommandResult:
        """Send a command; its result (events and version) or ``Refused``."""
        reply = await self._request(self.subjects.portfolio_command(), body, command_replies)
        assert reply.result is not None
        for envelope in reply.result.events:
            event = envelope.data
            if isinstance(event, REJECTIONS):
                raise Refused(str(event.reason_code), event.message)
        return reply.result

    async def query(self, body: Query) -> Any:
        """Ask a query; its result as the struct ``QUERY_RESULTS`` names, or ``Refused``."""
        subject = self.subjects.portfolio_query(query_name(body))
        return (await self._request(subject, body, query_replies[type(body)])).result

    async def _request(self, subject: str, body: Any, codec: Codec[Reply[R]]) -> Reply[R]:
        return await ask(self.nc, subject, body, codec, self, service="portfolio")


class Asker(Protocol):
    """What ``ask`` needs of a client: who it is, its ids and its patience."""

    actor: Actor
    ids: Uuid7Generator
    timeout: float


async def ask(
    nc: Client, subject: str, body: Any, codec: Codec[Reply[R]], client: Asker, *, service: str
) -> Reply[R]:
    """Send ``body`` as a request; the reply, or ``PortfolioUnavailable`` (no ``service``
    answered) or ``Refused`` (an error reply, or one that does not decode)."""
    request = Request(
        request_id=client.ids.new(), issued_at=datetime.now(UTC), actor=client.actor, body=body
    )
    try:
        msg = await nc.request(subject, encode(request), timeout=client.timeout)
    except (NoRespondersError, NatsTimeout) as error:
        raise PortfolioUnavailable(
            f"no {service} service answered on {subject} ({type(error).__name__})"
        ) from error
    try:
        reply = codec.decode(msg.data)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise Refused(MALFORMED_REPLY, str(error)) from error
    if not reply.ok:
        raise Refused(reply.error_code or ReplyErrorCode.INTERNAL_ERROR, reply.error or "")
    return reply


async def _quiet(error: Exception) -> None:
    """Connection errors become one clear message, not a logged traceback per attempt."""


@asynccontextmanager
async def connected(url: str, *, connect_timeout: float = 5.0) -> AsyncIterator[Client]:
    """A NATS connection that fails fast (no endless reconnects) when the server is away."""
    try:
        nc = await nats.connect(
            url,
            connect_timeout=connect_timeout,
            max_reconnect_attempts=1,
            allow_reconnect=False,
            error_cb=_quiet,
        )
    except (NoServersError, OSError, NatsTimeout) as error:
        raise PortfolioUnavailable(f"cannot connect to NATS at {url}: {error}") from error
    try:
        yield nc
    finally:
        await nc.close()


PortfolioAction = Callable[[PortfolioClient, argparse.Namespace], Coroutine[Any, Any, int]]

EXIT_REFUSED = 1
EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3


def portfolio_handler(action: PortfolioAction) -> Callable[[argparse.Namespace], int]:
    """A subcommand handler that runs ``action`` with a client, reporting refusals clearly."""
    return reporting(lambda args: _with_client(args, action))


def reporting(
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """A subcommand handler: ``run`` the request, a refusal or an absent service an exit code."""

    def handle(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(run(args))
        except Refused as refusal:
            return fail(f"refused: {refusal.code}: {refusal.message}", EXIT_REFUSED)
        except PortfolioUnavailable as error:
            return fail(f"{error} (is `papertape run` up? see --nats-url)", EXIT_UNAVAILABLE)
        except ValueError as error:  # a command built out of the contract's bounds: never sent
            return fail(f"invalid: {error}", EXIT_INVALID)

    return handle


async def _with_client(args: argparse.Namespace, action: PortfolioAction) -> int:
    async with connected(endpoints.nats_url(args)) as nc:
        client = PortfolioClient(nc, endpoints.subjects(args), timeout=args.timeout)
        return await action(client, args)


def portfolio_options() -> argparse.ArgumentParser:
    """A parent parser with the options of every portfolio request."""
    parent = argparse.ArgumentParser(add_help=False)
    endpoints.add_nats_options(parent)
    parent.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    parent.add_argument("--json", action="store_true", help="print the answer as JSON")
    return parent


def decimal_argument(text: str) -> Decimal:
    """An argparse type: a finite decimal number."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def timestamp_argument(text: str) -> datetime:
    """An argparse type: an ISO 8601 time (``Z`` allowed), UTC when no offset is given."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
