"""Bus subscribers: decode, call the book or the queries, encode the reply. No business rules.

Commands are handled ``command_workers`` at a time and execution reports are pulled in
batches, every one posted to its account's mailbox (``papertape.portfolio.mailbox``) in the
order it came: the book decides one account's in that order, those that queued during a turn
together in one append, and different accounts' side by side, so their appends share a group
commit. Queries are a subscription of their own and take no account's lock: they never wait
behind commands. Quotes (thousands a second) take the runtime's light path
(``consumers.follow``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsMessage
from nats.aio.subscription import Subscription

from papertape.common.bus import consumers
from papertape.common.bus.ordering import KeyOrder
from papertape.common.eventlog import DuplicateEventError, EventLog
from papertape.common.runtime import Handler, ServiceRuntime
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import AccountCommand
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope, Reply, ReplyErrorCode, Request
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.portfolio import CommandResult, PortfolioQuery
from papertape.contract.ids import Actor, CausationId
from papertape.contract.partitions import partition_of
from papertape.portfolio.accounts import AccountBook, UnknownAccount
from papertape.portfolio.marks import MarkBook
from papertape.portfolio.queries import UnknownOrder, answer
from papertape.portfolio.settings import PortfolioSettings
from papertape.portfolio.translation import command_for, from_clients

command_requests: Codec[Request[AccountCommand]] = Codec(Request[AccountCommand])
query_requests: Codec[Request[PortfolioQuery]] = Codec(Request[PortfolioQuery])
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
execution_reports: Codec[Envelope[ExecutionReport]] = Codec(Envelope[ExecutionReport])


def register(
    runtime: ServiceRuntime,
    book: AccountBook,
    marks: MarkBook,
    log: EventLog,
    settings: PortfolioSettings | None = None,
) -> None:
    """Subscribe the portfolio's queries on the runtime's broker (one process, every account;
    commands: ``answer_commands``, once connected)."""
    workers = (settings or PortfolioSettings()).command_workers
    runtime.broker.subscriber(
        runtime.subjects.portfolio_queries(), queue="portfolio", max_workers=workers
    )(query_handler(runtime, book, log))


async def answer_commands(
    runtime: ServiceRuntime,
    book: AccountBook,
    marks: MarkBook,
    settings: PortfolioSettings | None = None,
) -> Subscription:
    """Decide the clients' commands (once connected): ``command_workers`` at once, each posted
    to its account's mailbox in the order it came, through the runtime's request-reply path
    without FastStream's per-message machinery (``consumers.answer``)."""
    return await consumers.answer(
        runtime,
        "command",
        runtime.subjects.portfolio_command(),
        command_decider(book, marks),
        queue="portfolio",
        workers=(settings or PortfolioSettings()).command_workers,
    )


def command_handler(runtime: ServiceRuntime, book: AccountBook, marks: MarkBook) -> Handler[bytes]:
    """Decide one account command, with the runtime's metrics and error replies (a replica's
    router calls it); the encoded reply."""
    return runtime.replying("command")(command_decider(book, marks))


def command_decider(book: AccountBook, marks: MarkBook) -> Handler[bytes]:
    """Decide one account command; the encoded reply (errors raised for ``replying``)."""

    async def on_command(msg: NatsMessage) -> bytes:
        request = command_requests.decode(msg.body)
        if not from_clients(request.body):
            kind = message_name(type(request.body))
            message = f"{kind} comes from the venue or the portfolio only, not from a client"
            code = ReplyErrorCode.SERVICE_ONLY_COMMAND
            return encode(Reply(ok=False, error_code=code, error=message))
        try:
            decided = await book.execute(request, marks.prices())
        except DuplicateEventError as error:
            # The request id was used before for another command: its event ids are taken.
            message = f"request id {request.request_id!r} was used for another command: {error}"
            return encode(Reply(ok=False, error_code="duplicate_request", error=message))
        except UnknownAccount as error:
            return encode(
                Reply(ok=False, error_code=ReplyErrorCode.UNKNOWN_ACCOUNT, error=str(error))
            )
        result = CommandResult(
            account_id=request.body.account_id, version=decided.version, events=decided.envelopes
        )
        return encode(Reply(ok=True, result=result))

    return on_command


def query_handler(
    runtime: ServiceRuntime,
    book: AccountBook,
    log: EventLog,
    listed: Callable[[str], bool] | None = None,
) -> Handler[bytes]:
    """Answer one account query; the encoded reply. ``listed``: which accounts the list of
    accounts names (a partition's owner lists its partition's)."""

    @runtime.replying("query")
    async def on_query(msg: NatsMessage) -> bytes:
        request = query_requests.decode(msg.body)
        try:
            result: Any = await answer(request.body, book, log, listed)
        except UnknownAccount as error:
            return encode(
                Reply(ok=False, error_code=ReplyErrorCode.UNKNOWN_ACCOUNT, error=str(error))
            )
        except UnknownOrder as error:
            return encode(
                Reply(ok=False, error_code=ReplyErrorCode.UNKNOWN_ORDER, error=str(error))
            )
        return encode(Reply(ok=True, result=result))

    return on_query


async def follow_quotes(runtime: ServiceRuntime, marks: MarkBook) -> Subscription:
    """Every quote moves the mark book (once connected): thousands a second, so through the
    runtime's light path, not a FastStream subscriber."""

    def on_quote(data: bytes) -> None:
        if (refusal := marks.update(quotes.decode(data))) is not None:
            runtime.market_refused(refusal.check, refusal.reason)

    return await consumers.follow(runtime, "quote", runtime.subjects.all_quotes(), on_quote)


PARTITION_ACK_WAIT_S = 10.0


def report_account(subject: str) -> str:
    """The account of an execution report (``exec.<account>.<report>``)."""
    return subject.rsplit(".", 2)[-2]


def register_execution(
    runtime: ServiceRuntime,
    book: AccountBook,
    marks: MarkBook,
    settings: PortfolioSettings | None = None,
    *,
    partition: int | None = None,
) -> Callable[[], Awaitable[None]]:
    """Apply the venue's execution reports (fills, triggers, expiries) exactly once, in order
    per account; run the returned coroutine function once the runtime is connected.

    With ``partition``: only the reports of that partition's accounts, from the partition's
    own durable consumer (the others' reports are acknowledged unread: EXECUTION's subjects
    carry the account, not its partition, so no filter selects one partition's).
    """
    subjects = runtime.subjects
    settings = settings or PortfolioSettings()
    durable = (
        subjects.durable("portfolio", "execution")
        if partition is None
        else subjects.portfolio_partition_durable(partition)
    )

    # Batches as soon as anything is there, every report posted to its account's mailbox in
    # stream order (so one account's are decided in that order, many in one append), each
    # guarded: JetStream redelivers for ever; the guard dead-letters only what can never
    # succeed, so a fill that arrives during a database outage is applied once it is back.
    @consumers.pull_in_lanes(
        runtime,
        "execution_report",
        subjects.all_execution_reports(),
        stream=subjects.stream("EXECUTION"),
        durable=durable,
        lane=None,
        batch=settings.report_batch,
        # A partition's owner that dies leaves its reports in flight: they come again to the
        # next owner after this long (the one process of 1 partition keeps JetStream's 30 s).
        ack_wait=30 if partition is None else PARTITION_ACK_WAIT_S,
        # One account's reports in the venue's order, whatever NACKs and redeliveries do.
        order=KeyOrder(report_account),
    )
    async def on_report(msg: NatsMessage) -> None:
        account = report_account(msg.raw_message.subject)
        if partition is not None and partition_of(account, settings.partitions) != partition:
            return  # another partition's account: its owner's consumer applies it
        envelope = execution_reports.decode(msg.body)
        request: Request[AccountCommand] = Request(
            request_id=envelope.data.report_id,
            issued_at=envelope.data.ts,
            actor=Actor("execution"),
            correlation_id=envelope.correlation_id,
            causation_id=CausationId(envelope.event_id),
            body=command_for(envelope.data),
        )
        await book.execute(request, marks.prices())

    return on_report
