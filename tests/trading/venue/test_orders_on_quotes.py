"""Market and limit orders against quotes: the touch, slippage, trading through, fill on touch."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderFillReported,
    SlippageModel,
)
from papertape.contract.events.orders import Liquidity, OrderSide, OrderType
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.scenarios import at, placed, quote

D = Decimal
FRICTIONLESS = VenueConfig(default=ExecutionModels(slippage=SlippageModel(bps=D(0))))


def fills(reports: Sequence[object]) -> list[OrderFillReported]:
    return [r for r in reports if isinstance(r, OrderFillReported)]


def test_market_buy_fills_at_the_next_ask_plus_two_bps_and_half_a_cent_a_share_min_a_dollar() -> (
    None
):
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "100"))
    [fill] = fills(venue.on_quote(quote("99.98", "100.00", at(1))))
    assert fill.price == D("100.02")
    assert fill.quantity == 100
    assert fill.fee == D("1.00")  # 100 x $0.005 = $0.50, below the $1.00 minimum
    assert fill.liquidity is Liquidity.TAKER
    assert fill.reference_price == D("99.99")
    assert fill.touch_price == D("100.00")
    assert fill.spread_cost == D("1.00")
    assert fill.slippage == D("2.00")
    assert fill.cost == D("4.00")
    assert (fill.fee_model, fill.slippage_model, fill.spread_model) == (
        "equity",
        "fixed_bps",
        "quoted",
    )
    assert fill.report_id == "o1.fill.1"
    assert venue.working() == []


def test_a_fill_report_carries_the_quote_it_filled_against() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "100"))
    [fill] = fills(venue.on_quote(quote("99.98", "100.00", at(1))))
    assert (fill.bid, fill.ask) == (D("99.98"), D("100.00"))


def test_market_sell_fills_at_the_bid_minus_slippage() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.SELL, "10"))
    [fill] = fills(venue.on_quote(quote("100.00", "100.02", at(1))))
    assert fill.price == D("99.98")
    assert fill.slippage == D("0.20")


def test_quote_older_than_the_order_does_not_fill_it() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", ts=at(5)))
    assert venue.on_quote(quote("99", "100", at(4))) == []
    assert len(fills(venue.on_quote(quote("99", "100", at(5))))) == 1


def test_buy_limit_fills_as_maker_at_its_price_when_the_ask_trades_through() -> None:
    venue = Venue(FRICTIONLESS)
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="99.50"))
    assert fills(venue.on_quote(quote("99.80", "99.90", at(1)))) == []
    assert fills(venue.on_quote(quote("99.40", "99.50", at(2)))) == []  # touch only
    [fill] = fills(venue.on_quote(quote("99.30", "99.40", at(3))))
    assert (fill.price, fill.liquidity, fill.slippage) == (D("99.50"), Liquidity.MAKER, D(0))


def test_limit_fills_on_touch_when_so_configured() -> None:
    touch = ExecutionModels(fills=FillPolicy(fill_on_touch=True))
    venue = Venue(VenueConfig(default=touch))
    venue.on_account_event(placed("o1", OrderSide.SELL, "10", OrderType.LIMIT, limit="101"))
    [fill] = fills(venue.on_quote(quote("101.00", "101.02", at(1))))
    assert fill.price == D("101")


def test_marketable_limit_takes_the_ask_but_never_pays_beyond_its_limit() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="100.01"))
    [fill] = fills(venue.on_quote(quote("99.99", "100.00", at(1))))
    assert fill.liquidity is Liquidity.TAKER
    assert fill.price == D("100.01")  # 100.02 with slippage, capped at the limit


def test_resting_limits_fill_best_price_first_then_by_arrival() -> None:
    venue = Venue(FRICTIONLESS)
    venue.on_account_event(placed("low", OrderSide.BUY, "1", OrderType.LIMIT, limit="98"))
    venue.on_account_event(placed("high", OrderSide.BUY, "1", OrderType.LIMIT, limit="99"))
    venue.on_account_event(placed("high2", OrderSide.BUY, "1", OrderType.LIMIT, limit="99"))
    venue.on_quote(quote("99.5", "99.6", at(1)))
    order = [f.order_id for f in fills(venue.on_quote(quote("97", "97.5", at(2))))]
    assert order == ["high", "high2", "low"]


def test_quote_size_caps_fills_when_so_configured() -> None:
    capped = ExecutionModels(fills=FillPolicy(cap_at_quote_size=True))
    venue = Venue(VenueConfig(default=capped))
    venue.on_account_event(placed("o1", OrderSide.BUY, "10"))
    [first] = fills(venue.on_quote(quote("99", "100", at(1), ask_size="4")))
    [second] = fills(venue.on_quote(quote("99", "100", at(2), ask_size="100")))
    assert (first.quantity, first.remaining) == (D(4), D(6))
    assert (second.quantity, second.remaining, second.report_id) == (D(6), D(0), "o1.fill.2")


def test_nothing_fills_outside_the_session() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1"))
    assert venue.on_quote(quote("99", "100", at(1), in_session=False)) == []
    assert len(fills(venue.on_quote(quote("99", "100", at(2))))) == 1
