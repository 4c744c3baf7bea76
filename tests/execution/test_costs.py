"""The service on a real NATS charges each account's own cost schedule, v1 or v2, from ACCOUNTS."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import publish
from papertape.contract import codec
from papertape.contract.costs import CostModel, CostSchedule, CostTerms
from papertape.contract.events.account import (
    AccountEvent,
    CostModelSet,
    CostModelSetV2,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import OrderFillReported
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.trading.venue.scenarios import at, placed, quote
from tests.execution.test_execution_service import next_fills, running

pytestmark = pytest.mark.integration

D = Decimal


async def append(nc: Client, subjects: Subjects, event: AccountEvent, version: int) -> None:
    """An account event on ACCOUNTS, as the portfolio's relay publishes it."""
    account = str(event.account_id)
    envelope = Envelope[AccountEvent](
        event_id=EventId(f"evt-{account}-{version}"),
        stream_id=StreamId(f"account-{account}"),
        stream_version=version,
        occurred_at=at(0),
        correlation_id=CorrelationId("c"),
        actor=Actor("test"),
        data=event,
    )
    subject = subjects.account_event(account, message_name(type(event)))
    await publish(nc.jetstream(), subject, envelope, msg_id=envelope.event_id)


async def test_the_venue_charges_each_accounts_schedule_v2_and_upcast_v1(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    cheap = CostTerms(name="cheap", fixed=D("0.25"), slippage_bps=D(0))
    v2 = CostSchedule(instruments={"AAPL": cheap})
    v1 = CostModel(commission_fixed=D("0.75"))
    await append(
        nats_client, subjects, CostModelSetV2(account_id=AccountId("a2"), ts=at(0), schedule=v2), 1
    )
    await append(
        nats_client, subjects, CostModelSet(account_id=AccountId("a1"), ts=at(0), cost_model=v1), 1
    )
    for account in ("a1", "a2", "a3"):
        order = placed(f"{account}-o", OrderSide.BUY, "10", ts=at(0), account=AccountId(account))
        await append(nats_client, subjects, order, 2)
    async with running(nats_url, subjects):
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(quote("99", "100", at(1))))
        found = await next_fills(nats_client, subjects, 3)
    fills: dict[str, OrderFillReported] = {
        e.data.account_id: e.data for _, e in found if isinstance(e.data, OrderFillReported)
    }
    # a2: its own AAPL override; a1: its v1 model for every class (no slippage, as it was set);
    # a3 set nothing: the equity defaults ($0.005 a share, $1.00 minimum, 2 bps).
    assert (fills["a2"].fee, fills["a2"].price, fills["a2"].fee_model) == (
        D("0.25"),
        D(100),
        "cheap",
    )
    assert (fills["a1"].fee, fills["a1"].price, fills["a1"].fee_model) == (
        D("0.75"),
        D(100),
        "account",
    )
    assert (fills["a3"].fee, fills["a3"].price, fills["a3"].fee_model) == (
        D("1.00"),
        D("100.02"),
        "equity",
    )
    assert fills["a3"].models.fees.minimum == 1
