"""Bus subscribers: decode, call the book or the queries, encode the reply. No business rules."""

from __future__ import annotations

from typing import Any

from faststream.nats import JStream, NatsMessage, PullSub

from papertape.common.eventlog import DuplicateEventError, EventLog
from papertape.common.runtime import ServiceRuntime
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import AccountCommand
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope, Reply, ReplyErrorCode, Request
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.portfolio import CommandResult, PortfolioQuery
from papertape.contract.ids import Actor, CausationId
from papertape.portfolio.accounts import AccountBook, UnknownAccount
from papertape.portfolio.marks import MarkBook
from papertape.portfolio.queries import UnknownOrder, answer
from papertape.portfolio.translation import command_for, from_clients

command_requests: Codec[Request[AccountCommand]] = Codec(Request[AccountCommand])
query_requests: Codec[Request[PortfolioQuery]] = Codec(Request[PortfolioQuery])
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
execution_reports: Codec[Envelope[ExecutionReport]] = Codec(Envelope[ExecutionReport])


def register(runtime: ServiceRuntime, book: AccountBook, marks: MarkBook, log: EventLog) -> None:
    """Subscribe the portfolio's handlers on the runtime's broker."""
    subjects = runtime.subjects
    broker = runtime.broker

    @broker.subscriber(subjects.portfolio_command(), queue="portfolio")
    @runtime.replying("command")
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

    @broker.subscriber(subjects.portfolio_queries(), queue="portfolio")
    @runtime.replying("query")
    async def on_query(msg: NatsMessage) -> bytes:
        request = query_requests.decode(msg.body)
        try:
            result: Any = await answer(request.body, book, log)
        except UnknownAccount as error:
            return encode(
                Reply(ok=False, error_code=ReplyErrorCode.UNKNOWN_ACCOUNT, error=str(error))
            )
        except UnknownOrder as error:
            return encode(
                Reply(ok=False, error_code=ReplyErrorCode.UNKNOWN_ORDER, error=str(error))
            )
        return encode(Reply(ok=True, result=result))

    @broker.subscriber(subjects.all_quotes())
    @runtime.guarded("quote")
    async def on_quote(msg: NatsMessage) -> None:
        if (refusal := marks.update(quotes.decode(msg.body))) is not None:
            runtime.market_refused(refusal.check, refusal.reason)


def register_execution(runtime: ServiceRuntime, book: AccountBook, marks: MarkBook) -> None:
    """Apply the venue's execution reports (fills, triggers, expiries) exactly once, in order."""
    subjects = runtime.subjects

    @runtime.broker.subscriber(
        subjects.all_execution_reports(),
        stream=JStream(subjects.stream("EXECUTION"), declare=False),
        durable=subjects.durable("portfolio", "execution"),
        pull_sub=PullSub(batch_size=1),  # one at a time: per-account order matters
        # JetStream redelivers for ever; the guard dead-letters only what can never succeed, so
        # a fill that arrives during a database outage is applied once the database is back.
        config=runtime.consumer_config(ack_wait=30),
    )
    @runtime.guarded("execution_report")
    async def on_report(msg: NatsMessage) -> None:
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
