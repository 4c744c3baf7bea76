"""Bars as a path: open, nearer extreme, other extreme, close; gaps; volume caps."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderFillReported,
    OrderTriggerReported,
)
from papertape.contract.events.market import Timeframe
from papertape.contract.events.orders import Liquidity, OrderSide, OrderType
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.market import bar_path
from papertape.trading.venue.scenarios import at, bar, costs_set, placed, quote

D = Decimal


def venue(share: str = "1") -> Venue:
    policy = FillPolicy(max_volume_share=D(share))
    venue = Venue(VenueConfig(default=ExecutionModels(fills=policy)))
    venue.on_account_event(costs_set())
    return venue


def fills(reports: Sequence[object]) -> list[OrderFillReported]:
    return [r for r in reports if isinstance(r, OrderFillReported)]


def test_path_visits_the_nearer_extreme_first() -> None:
    assert bar_path(bar("100", "101", "95", "99")) == (D(100), D(101), D(95), D(99))
    assert bar_path(bar("100", "105", "99", "99")) == (D(100), D(99), D(105), D(99))


def test_market_order_fills_at_the_next_bars_open() -> None:
    v = venue()
    v.on_account_event(placed("o1", ts=at(30)))
    assert v.on_bar(bar("100", "101", "99", "100", at(0))) == []  # started before the order
    [fill] = fills(v.on_bar(bar("100.5", "102", "99", "101", at(60))))
    assert fill.price == D("100.5")
    assert fill.ts == at(120)


def test_limit_crossed_inside_the_bar_fills_at_its_price() -> None:
    v = venue()
    v.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="98"))
    [fill] = fills(v.on_bar(bar("100", "101", "97", "99")))
    assert (fill.price, fill.liquidity) == (D(98), Liquidity.MAKER)


def test_bar_opening_through_a_limit_fills_at_the_better_open() -> None:
    v = venue()
    v.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="98"))
    [fill] = fills(v.on_bar(bar("96", "97", "95", "96")))
    assert fill.price == D(96)


def test_gap_through_a_stop_fills_at_the_gap_price() -> None:
    v = venue()
    v.on_account_event(placed("s1", OrderSide.SELL, "1", OrderType.STOP, stop="95"))
    v.on_bar(bar("100", "101", "99", "100", at(0)))
    reports = v.on_bar(bar("90", "91", "89", "90", at(60)))
    assert isinstance(reports[0], OrderTriggerReported)
    assert fills(reports)[0].price == D(90)


def test_stop_crossed_inside_the_bar_fills_at_its_level() -> None:
    v = venue()
    v.on_account_event(placed("s1", OrderSide.BUY, "1", OrderType.STOP, stop="102"))
    [fill] = fills(v.on_bar(bar("100", "103", "99.5", "101")))
    assert fill.price == D(102)


def test_limit_order_entered_on_the_way_down_can_stop_out_on_the_same_bar() -> None:
    v = venue()
    v.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="99"))
    v.on_account_event(placed("s1", OrderSide.SELL, "1", OrderType.STOP, stop="98"))
    prices = [f.price for f in fills(v.on_bar(bar("100", "101", "97", "98")))]
    assert prices == [D(99), D(98)]


def test_partial_fills_are_capped_at_a_share_of_the_bars_volume() -> None:
    v = venue(share="0.1")
    v.on_account_event(placed("o1", OrderSide.BUY, "50"))
    [first] = fills(v.on_bar(bar("100", "101", "99", "100", at(0), volume="200")))
    [second] = fills(v.on_bar(bar("100", "101", "99", "100", at(60), volume="1000")))
    assert (first.quantity, first.remaining) == (D(20), D(30))
    assert (second.quantity, second.remaining) == (D(30), D(0))


def test_trailing_stop_follows_the_path_and_triggers_on_the_way_back() -> None:
    v = venue()
    v.on_account_event(placed("t1", OrderSide.SELL, "1", OrderType.TRAILING_STOP, trail_amount="2"))
    # open 100 -> low 99.5 -> high 104 (level 102) -> close 101: triggers at 102.
    reports = v.on_bar(bar("100", "104", "99.5", "101"))
    trigger = reports[0]
    assert isinstance(trigger, OrderTriggerReported)
    assert trigger.trigger_price == D(102)
    assert fills(reports)[0].price == D(102)


def test_bars_of_other_widths_and_symbols_with_quotes_are_not_matched() -> None:
    v = venue()
    v.on_account_event(placed("o1"))
    assert v.on_bar(bar("100", "101", "99", "100", timeframe=Timeframe.M5)) == []
    v.on_account_event(placed("o2", ts=at(100)))
    v.on_quote(quote("99", "100", at(50)))
    assert v.on_bar(bar("100", "101", "99", "100", at(120))) == []
