"""Brackets: children work once the entry fills, one cancels the other, partial entries resize."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.account import OrderCancelled
from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderExpiryReported,
    OrderFillReported,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import OrderId
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.scenarios import ACCOUNT, at, bar, bracket, costs_set, quote

D = Decimal


def venue(**policy: object) -> Venue:
    fills = FillPolicy(**policy)  # type: ignore[arg-type]
    venue = Venue(VenueConfig(default=ExecutionModels(fills=fills)))
    venue.on_account_event(costs_set())
    return venue


def fills(reports: Sequence[object]) -> list[OrderFillReported]:
    return [r for r in reports if isinstance(r, OrderFillReported)]


def test_children_do_not_work_before_the_entry_fills() -> None:
    v = venue()
    for event in bracket(
        "b1", stop_loss="95", take_profit="105", order_type=OrderType.LIMIT, limit="90"
    ):
        v.on_account_event(event)
    assert fills(v.on_quote(quote("105.5", "105.6", at(1)))) == []
    assert [o.order_id for o in v.working()] == ["b1", "b1-sl", "b1-tp"]


def test_take_profit_fills_after_the_entry_and_cancels_the_stop_loss() -> None:
    v = venue()
    for event in bracket("b1", stop_loss="95", take_profit="105"):
        v.on_account_event(event)
    [entry] = fills(v.on_quote(quote("99.99", "100.00", at(1))))
    assert entry.order_id == "b1"
    reports = v.on_quote(quote("105.10", "105.20", at(2)))
    [take] = fills(reports)
    assert (take.order_id, take.price, take.side) == ("b1-tp", D(105), OrderSide.SELL)
    [oco] = [r for r in reports if isinstance(r, OrderExpiryReported)]
    assert (oco.order_id, oco.reason) == ("b1-sl", "one cancels other")
    assert v.working() == []


def test_stop_loss_fills_when_the_price_falls_through_it() -> None:
    v = venue()
    for event in bracket("b1", stop_loss="95", take_profit="105"):
        v.on_account_event(event)
    v.on_quote(quote("99.99", "100.00", at(1)))
    reports = v.on_quote(quote("94.90", "95.00", at(2)))
    [stop] = fills(reports)
    assert (stop.order_id, stop.price) == ("b1-sl", D("94.90"))
    assert v.working() == []


def test_partial_entry_fill_resizes_the_children() -> None:
    v = venue(cap_at_quote_size=True)
    for event in bracket("b1", "10", stop_loss="95", take_profit="105"):
        v.on_account_event(event)
    [entry] = fills(v.on_quote(quote("99.99", "100.00", at(1), ask_size="4")))
    assert entry.quantity == 4
    stop_loss = v.get(OrderId("b1-sl"))
    assert stop_loss is not None
    assert stop_loss.capacity() == 4
    v.on_account_event(OrderCancelled(account_id=ACCOUNT, ts=at(1), order_id=OrderId("b1")))
    reports = v.on_quote(quote("94.00", "94.10", at(2)))
    [stop] = fills(reports)
    assert (stop.order_id, stop.quantity) == ("b1-sl", D(4))
    assert [r.order_id for r in reports if isinstance(r, OrderExpiryReported)] == ["b1-tp"]


def test_partial_stop_loss_fill_shrinks_the_take_profit() -> None:
    v = venue(cap_at_quote_size=True)
    for event in bracket("b1", "10", stop_loss="95", take_profit="105"):
        v.on_account_event(event)
    v.on_quote(quote("99.99", "100.00", at(1)))
    [stop] = fills(v.on_quote(quote("94.00", "94.10", at(2), bid_size="3")))
    assert stop.quantity == 3
    take_profit = v.get(OrderId("b1-tp"))
    assert take_profit is not None
    assert take_profit.capacity() == 7


def test_bar_touching_both_legs_takes_the_stop_first() -> None:
    v = venue()
    for event in bracket("b1", stop_loss="95", take_profit="105"):
        v.on_account_event(event)
    v.on_bar(bar("100", "101", "99", "100", at(0)))  # entry at the open
    # The high is nearer the open, so the path reaches 106 before 94; the stop still goes first.
    reports = v.on_bar(bar("100", "106", "94", "100", at(60)))
    [stop] = fills(reports)
    assert (stop.order_id, stop.price) == ("b1-sl", D(95))
    assert [r.order_id for r in reports if isinstance(r, OrderExpiryReported)] == ["b1-tp"]
