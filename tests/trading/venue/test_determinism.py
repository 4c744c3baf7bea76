"""The same orders and market data give the same reports, byte for byte."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from papertape.contract import codec
from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.execution import ExecutionModels, SlippageKind, SlippageModel
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.scenarios import at, bar, placed, quote

Item = OrderPlaced | QuoteReceived | BarClosed

prices = st.integers(min_value=9000, max_value=11000).map(lambda c: Decimal(c) / 100)


@st.composite
def orders(draw: st.DrawFn, index: int, ts: float) -> OrderPlaced:
    kind = draw(st.sampled_from(list(OrderType)))
    price = str(draw(prices))
    return placed(
        f"o{index}",
        draw(st.sampled_from(list(OrderSide))),
        str(draw(st.integers(1, 50))),
        kind,
        limit=price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop=price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
        trail_amount="1" if kind is OrderType.TRAILING_STOP else None,
        tif=draw(st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.DAY])),
        ts=at(ts),
    )


@st.composite
def streams(draw: st.DrawFn) -> list[Item]:
    items: list[Item] = []
    for i in range(draw(st.integers(1, 40))):
        what = draw(st.sampled_from(["order", "quote", "bar"]))
        if what == "order":
            items.append(draw(orders(i, i)))
        elif what == "quote":
            bid = draw(prices)
            items.append(
                quote(str(bid), str(bid + Decimal("0.02")), at(i), bid_size="20", ask_size="20")
            )
        else:
            a, b = draw(prices), draw(prices)
            items.append(
                bar(
                    str(a),
                    str(max(a, b)),
                    str(min(a, b)),
                    str(b),
                    at(i),
                    volume="100",
                    symbol=placed("x").symbol,
                )
            )
    return items


def replay(items: list[Item]) -> bytes:
    config = VenueConfig(
        default=ExecutionModels(slippage=SlippageModel(kind=SlippageKind.VOLATILITY, seed=3))
    )
    venue = Venue(config)
    out = []
    for item in items:
        if isinstance(item, OrderPlaced):
            out += venue.on_account_event(item)
        elif isinstance(item, QuoteReceived):
            out += venue.on_quote(item)
        else:
            out += venue.on_bar(item)
    return codec.encode(out)


@settings(max_examples=60, deadline=None)
@given(streams())
def test_same_orders_and_market_give_the_same_reports_byte_for_byte(items: list[Item]) -> None:
    assert replay(items) == replay(items)
