"""The portfolio anchors the log's head to the ANCHORS stream on its periodic helper."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client

from papertape.common.eventlog import verify_log
from papertape.common.eventlog.anchors import read_anchor_stream
from papertape.contract.events.account import OpenAccount
from papertape.contract.ids import AccountId
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from tests.portfolio.conftest import PortfolioClient

pytestmark = pytest.mark.integration


async def test_the_portfolio_anchors_the_head_it_moved_to_and_the_log_verifies_against_it(
    portfolio: Portfolio, client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    answer = await client.command(OpenAccount(account_id=AccountId("alice"), name="Alice"))
    assert answer.ok, answer
    head = await portfolio.log.head()

    js = nats_client.jetstream()
    for _ in range(100):  # anchored every 0.2 s in the fixture
        anchors = await read_anchor_stream(js, subjects)
        if any(anchor.position == head.position for anchor in anchors):
            break
        await asyncio.sleep(0.1)
    latest = next(anchor for anchor in anchors if anchor.position == head.position)

    assert latest.hash == head.hash.hex()
    assert len({anchor.position for anchor in anchors}) == len(anchors)  # one per head
    assert (await verify_log(portfolio.log, anchors=anchors)).ok
