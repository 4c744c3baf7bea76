"""The portfolio, as the notification service asks it: an account's summary (request-reply)."""

from __future__ import annotations

from datetime import datetime

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from papertape.contract.codec import Codec, encode
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.portfolio import GetAccountSummary
from papertape.contract.events.reports import AccountSummary
from papertape.contract.ids import AccountId, Actor

summaries: Codec[Reply[AccountSummary]] = Codec(Reply[AccountSummary])


class PortfolioAway(Exception):
    """Portfolio did not answer, or could not: look again on the next round."""


async def account_summary(
    nc: Client, subject: str, account_id: str, now: datetime, *, wait_s: float = 5.0
) -> AccountSummary | None:
    """The account's summary (None when portfolio does not know the account)."""
    request = Request(
        request_id=f"notification:summary:{account_id}:{now.isoformat()}",
        issued_at=now,
        actor=Actor("notification"),
        body=GetAccountSummary(account_id=AccountId(account_id)),
    )
    try:
        msg = await nc.request(subject, encode(request), timeout=wait_s)
    except (NoRespondersError, NatsTimeout) as error:
        raise PortfolioAway(f"no answer on {subject}") from error
    reply = summaries.decode(msg.data)
    if reply.ok:
        return reply.result
    if reply.error_code == ReplyErrorCode.UNKNOWN_ACCOUNT:
        return None
    raise PortfolioAway(reply.error or str(reply.error_code))


SUMMARY_QUERY = message_name(GetAccountSummary)
