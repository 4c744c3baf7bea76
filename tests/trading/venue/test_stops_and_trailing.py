"""Stops, stop-limits and trailing stops: trigger prices, gaps, trigger reports."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.execution import (
    OrderFillReported,
    OrderTriggerReported,
    TriggerSource,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.scenarios import at, costs_set, placed, quote

D = Decimal


def venue(source: TriggerSource = TriggerSource.MID) -> Venue:
    venue = Venue(VenueConfig(trigger_source=source))
    venue.on_account_event(costs_set())
    return venue


def kinds(reports: Sequence[object]) -> list[str]:
    return [type(r).__name__ for r in reports]


def test_stop_order_triggers_when_bid_crosses_stop() -> None:
    v = venue(TriggerSource.BID)
    v.on_account_event(placed("s1", OrderSide.SELL, "10", OrderType.STOP, stop="99"))
    assert v.on_quote(quote("99.01", "99.50", at(1))) == []
    reports = v.on_quote(quote("98.99", "99.10", at(2)))
    assert kinds(reports) == ["OrderTriggerReported", "OrderFillReported"]
    trigger, fill = reports
    assert isinstance(trigger, OrderTriggerReported)
    assert isinstance(fill, OrderFillReported)
    assert (trigger.trigger_price, trigger.market_price) == (D(99), D("98.99"))
    assert trigger.report_id == "s1.trigger"
    assert fill.price == D("98.99")


def test_buy_stop_triggers_on_the_ask_when_so_configured() -> None:
    v = venue(TriggerSource.ASK)
    v.on_account_event(placed("s1", OrderSide.BUY, "10", OrderType.STOP, stop="101"))
    assert v.on_quote(quote("100.90", "100.99", at(1))) == []
    assert "OrderFillReported" in kinds(v.on_quote(quote("100.95", "101.00", at(2))))


def test_stop_triggers_on_last_and_falls_back_to_mid_without_a_last() -> None:
    v = venue(TriggerSource.LAST)
    v.on_account_event(placed("s1", OrderSide.SELL, "1", OrderType.STOP, stop="99"))
    assert v.on_quote(quote("98", "102", at(1), last="99.5")) == []
    assert kinds(v.on_quote(quote("98.5", "99.4", at(2))))[0] == "OrderTriggerReported"


def test_quote_gapping_through_a_stop_fills_at_the_gap_price() -> None:
    v = venue()
    v.on_account_event(placed("s1", OrderSide.SELL, "10", OrderType.STOP, stop="99"))
    v.on_quote(quote("100", "100.02", at(1)))
    fill = v.on_quote(quote("95.00", "95.02", at(2)))[1]
    assert isinstance(fill, OrderFillReported)
    assert fill.price == D("95.00")


def test_stop_limit_becomes_a_resting_limit_when_the_market_is_beyond_its_limit() -> None:
    v = venue()
    v.on_account_event(
        placed("sl", OrderSide.SELL, "10", OrderType.STOP_LIMIT, stop="99", limit="98.50")
    )
    assert kinds(v.on_quote(quote("97.00", "97.10", at(1)))) == ["OrderTriggerReported"]
    working = v.get(v.working()[0].order_id)
    assert working is not None
    assert working.triggered
    [fill] = v.on_quote(quote("98.60", "98.70", at(2)))
    assert isinstance(fill, OrderFillReported)
    assert fill.price == D("98.50")


def test_stop_limit_within_its_limit_fills_at_once_when_triggered() -> None:
    v = venue()
    v.on_account_event(
        placed("sl", OrderSide.BUY, "10", OrderType.STOP_LIMIT, stop="101", limit="102")
    )
    reports = v.on_quote(quote("101.00", "101.10", at(1)))
    assert kinds(reports) == ["OrderTriggerReported", "OrderFillReported"]
    assert isinstance(reports[1], OrderFillReported)
    assert reports[1].price == D("101.10")


def test_trailing_sell_stop_follows_the_high_by_an_amount() -> None:
    v = venue()
    v.on_account_event(placed("t1", OrderSide.SELL, "5", OrderType.TRAILING_STOP, trail_amount="2"))
    assert v.on_quote(quote("99.99", "100.01", at(1))) == []  # anchor 100, level 98
    assert v.on_quote(quote("104.99", "105.01", at(2))) == []  # anchor 105, level 103
    assert v.on_quote(quote("103.49", "103.51", at(3))) == []
    reports = v.on_quote(quote("102.99", "103.01", at(4)))
    trigger = reports[0]
    assert isinstance(trigger, OrderTriggerReported)
    assert trigger.trigger_price == D(103)


def test_trailing_buy_stop_follows_the_low_by_a_percent() -> None:
    v = venue()
    v.on_account_event(
        placed("t1", OrderSide.BUY, "5", OrderType.TRAILING_STOP, trail_percent="10")
    )
    v.on_quote(quote("99.99", "100.01", at(1)))  # anchor 100, level 110
    v.on_quote(quote("79.99", "80.01", at(2)))  # anchor 80, level 88
    assert v.on_quote(quote("87.00", "87.02", at(3))) == []
    reports = v.on_quote(quote("88.00", "88.02", at(4)))
    trigger = reports[0]
    assert isinstance(trigger, OrderTriggerReported)
    assert trigger.trigger_price == D(88)
