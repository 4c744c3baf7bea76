"""A placement and its fill are one trace: portfolio, execution and back, on real servers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError

from papertape.contract import codec
from papertape.contract.events.account import AccountEvent, OpenAccount, OrderFilledV2, OrderPlaced
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import AccountId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.trading.venue.scenarios import quote
from tests.execution.test_execution_service import running
from tests.portfolio.conftest import PortfolioClient, aapl_limit, client, portfolio

pytestmark = pytest.mark.integration
__all__ = ["client", "portfolio"]  # the portfolio's fixtures, used here by name
ACC = AccountId("trace")
account_events: codec.Codec[Envelope[AccountEvent]] = codec.Codec(Envelope[AccountEvent])


def trace_id(traceparent: str | None) -> str:
    assert traceparent is not None
    return traceparent.split("-")[1]


async def test_the_accounts_fill_is_in_the_trace_of_its_placement(
    client: PortfolioClient,
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    events = await nats_client.jetstream().subscribe(
        subjects.account_events(ACC), ordered_consumer=True
    )
    async with running(nats_url, subjects):
        assert (await client.command(OpenAccount(account_id=ACC, name="Trace"))).ok
        ask = quote("99.98", "100", datetime.now(UTC))
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(ask))
        placed = await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 101))
        assert placed.ok, placed
        found: dict[type, Envelope[AccountEvent]] = {}
        for _ in range(30):  # until filled: the venue may see a quote before the placement
            if OrderPlaced in found:
                fill = quote("99.99", "100.01", datetime.now(UTC))
                await nats_client.publish(subjects.quote("AAPL"), codec.encode(fill))
            try:
                msg = await events.next_msg(timeout=1)
            except TimeoutError:
                continue
            envelope = account_events.decode(msg.data)
            found[type(envelope.data)] = envelope
            if OrderFilledV2 in found:
                break
    await events.unsubscribe()
    filled = found[OrderFilledV2]
    assert isinstance(filled.data, OrderFilledV2)
    assert filled.data.quantity == Decimal(5)
    assert trace_id(filled.traceparent) == trace_id(found[OrderPlaced].traceparent)
