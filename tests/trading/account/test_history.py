"""The account's orders over its whole history: every status, fills folded, filters, pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from papertape.contract.events.account import CancelOrder, ExpireOrder, PlaceOrder, ResetAccount
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import GetOrders
from papertape.contract.events.reports import OrderRecord, OrderStatus
from papertape.contract.ids import OrderId, Symbol
from papertape.trading.account.history import order_history, order_page, order_records
from papertape.trading.account.scenarios import ACCOUNT, Scenario, at, fill, order, wide_open

D = Decimal


def _limit(order_id: str, price: str = "90", quantity: str = "10") -> PlaceOrder:
    return order(order_id, quantity=quantity, order_type=OrderType.LIMIT, limit_price=D(price))


def _book() -> Scenario:
    s = Scenario(wide_open("100000"))
    s.given(order("filled"), now=at(1))
    s.given(fill("filled", "100", "4", fee="1"), fill("filled", "101", "6", fee="1"))
    s.given(_limit("working"), now=at(2))
    s.given(fill("working", "90", "3"))
    s.given(_limit("cancelled"), now=at(3))
    s.given(CancelOrder(account_id=ACCOUNT, order_id=OrderId("cancelled"), reason="changed mind"))
    s.given(_limit("expired"), now=at(4))
    s.given(ExpireOrder(account_id=ACCOUNT, order_id=OrderId("expired"), reason="gtd", ts=at(5)))
    s.given(order("rejected", quantity="1000000"), now=at(6))  # far beyond the limits
    return s


def test_every_order_is_listed_newest_first_with_how_it_ended() -> None:
    s = _book()
    records = order_records(s.events, s.state.orders)
    assert [(r.order_id, r.status) for r in records] == [
        ("rejected", OrderStatus.REJECTED),
        ("expired", OrderStatus.EXPIRED),
        ("cancelled", OrderStatus.CANCELLED),
        ("working", OrderStatus.WORKING),
        ("filled", OrderStatus.FILLED),
    ]
    by_id: dict[str, OrderRecord] = {r.order_id: r for r in records}
    filled = by_id["filled"]
    assert (filled.filled_quantity, filled.fills, filled.fees) == (D(10), 2, D(2))
    assert filled.average_price == D("100.60")  # (4 x 100 + 6 x 101) / 10, at the tick
    assert (by_id["working"].filled_quantity, by_id["working"].limit_price) == (D(3), D(90))
    assert by_id["cancelled"].reason == "changed mind"
    assert by_id["expired"].reason == "gtd"
    assert by_id["rejected"].reason_code == "max_position_size"
    assert by_id["rejected"].reason
    assert by_id["rejected"].order_type is None


def test_filters_and_pages_choose_from_the_whole_history() -> None:
    s = _book()
    records = order_records(s.events, s.state.orders)

    def ids(**filters: Any) -> list[str]:
        page = order_page(records, GetOrders(account_id=ACCOUNT, **filters))
        return [r.order_id for r in page.orders]

    assert ids(status=OrderStatus.FILLED) == ["filled"]
    assert ids(order_type=OrderType.LIMIT) == ["expired", "cancelled", "working"]
    assert ids(symbol=Symbol("MSFT")) == []
    assert ids(side=OrderSide.SELL) == []
    assert ids(since=at(2), until=at(4)) == ["cancelled", "working"]
    second = order_page(records, GetOrders(account_id=ACCOUNT, offset=2, limit=2))
    assert ([r.order_id for r in second.orders], second.total) == (["cancelled", "working"], 5)


def test_one_order_comes_with_its_fills_and_a_reset_ends_what_was_working() -> None:
    s = _book()
    s.given(ResetAccount(account_id=ACCOUNT, reason="new epoch"), now=at(10))
    found = order_history(s.events, s.state.orders, "filled")
    assert found is not None
    assert [f.quantity for f in found.fills] == [D(4), D(6)]
    working = order_history(s.events, s.state.orders, "working")
    assert working is not None
    assert (working.order.status, working.order.reason) == (OrderStatus.CANCELLED, "account reset")
    assert order_history(s.events, s.state.orders, "nope") is None
