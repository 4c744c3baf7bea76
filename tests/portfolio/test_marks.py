"""The mark book takes a quote as the mark only when it can be the market; at a start it is
seeded with every symbol's last stored quote."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.bus import ranges
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.bootstrap import build
from papertape.portfolio.marks import MarkBook, seed_marks
from papertape.portfolio.settings import PortfolioSettings
from papertape.trading.venue.sanity import REANCHOR_AFTER, Check
from papertape.trading.venue.scenarios import T0, quote
from tests.portfolio.conftest import PortfolioClient

D = Decimal


def test_a_crossed_or_absurd_quote_is_refused_and_the_mark_stays_the_last_good_price() -> None:
    marks = MarkBook(price_band=D("0.5"))
    assert marks.update(quote("99.99", "100.01")) is None
    symbol = quote("1", "1").symbol

    crossed = marks.update(quote("101", "100"))
    absurd = marks.update(quote("999", "1001", last="1000"))

    assert crossed is not None
    assert crossed.check is Check.CROSSED
    assert absurd is not None
    assert absurd.check is Check.JUMP
    assert marks.prices() == {symbol: D("100.00")}
    assert marks.update(quote("120", "120.02")) is None
    assert marks.prices() == {symbol: D("120.01")}


@pytest.mark.integration
async def test_after_a_start_the_portfolio_decides_at_the_last_stored_quote(
    nats_url: str,
    nats_client: Client,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    """A market order right after a (re)start is priced from the MARKET stream's last quote
    of its symbol, not refused ``no_market_price`` until the next quote comes."""
    js = nats_client.jetstream()
    for tick in (quote("99.98", "100.02"), quote("149.98", "150.02")):
        await js.publish(subjects.quote("AAPL"), encode(tick))
    await js.publish(subjects.quote("MSFT"), b"\xffnot a quote")
    settings = PortfolioSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
    )
    service = await build(settings)
    serving = asyncio.create_task(
        service.runtime.serve(on_start=service.start, on_stop=service.stop)
    )
    try:
        for _ in range(200):
            if service.runtime.broker.running:
                break
            await asyncio.sleep(0.05)
        assert service.marks.prices() == {Symbol("AAPL"): D("150.00")}
        client = PortfolioClient(nats_client, subjects)
        await client.command(OpenAccount(account_id=AccountId("acc-1"), name="Alice"))
        order = PlaceOrder(
            account_id=AccountId("acc-1"),
            order_id=OrderId("o-1"),
            symbol=Symbol("AAPL"),
            side=OrderSide.BUY,
            quantity=D(5),
            order_type=OrderType.MARKET,
        )
        reply = await client.command(order)
    finally:
        service.runtime.stop()
        await serving
        await service.log.close()
    assert reply.ok
    decided = reply.result["events"][0]["data"]
    assert decided["type"].startswith("order_placed"), decided.get("reason_code")


def test_a_confirmed_move_beyond_the_band_becomes_the_mark() -> None:
    marks = MarkBook(price_band=D("0.5"))
    marks.update(quote("99.99", "100.01"))
    symbol = quote("1", "1").symbol
    results = [marks.update(quote("39.99", "40.01")) for _ in range(REANCHOR_AFTER)]
    assert all(r is not None for r in results[:-1])
    assert results[-1] is None
    assert marks.prices() == {symbol: D("40.00")}


@pytest.mark.integration
async def test_seeding_reads_every_symbols_last_quote_in_batches_and_leaves_no_consumer(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ranges, "BATCH", 7)  # 25 symbols: four batches
    js = nats_client.jetstream()
    symbols = [Symbol(f"S{i:02d}") for i in range(25)]
    for i, symbol in enumerate(symbols):
        for age, price in ((2, "1"), (1, "2")):  # an older quote, then the last one
            tick = quote(price, price, T0 - timedelta(seconds=age), symbol=symbol)
            await js.publish(subjects.quote(symbol), encode(tick))
        if i % 5 == 0:
            await js.publish(subjects.quote(symbol), b"\xffnot a quote")  # last, not the market
    marks = MarkBook()
    newer = quote("9", "9", T0, symbol=symbols[1])
    assert marks.update(newer) is None  # a live quote newer than the stored one is kept

    seeded = await seed_marks(marks, js, subjects)

    garbled = set(symbols[::5])
    assert seeded == len(symbols) - len(garbled)  # S01 counts: marked, by its newer quote
    expected = {s: D(2) for s in symbols if s not in garbled} | {symbols[1]: D(9)}
    assert marks.prices() == expected
    stream = await js.stream_info(subjects.stream("MARKET"))
    assert stream.state.consumer_count == 0
