"""Brackets stay protected, and the account and the venue agree on every order's end (issue 8).

Each test drives the real account and the real venue together through a ``Desk``.
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.account import FillRejected, OrderFilledV2
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType
from papertape.contract.ids import OrderId
from tests.trading.desk import Desk

BUY, SELL = OrderSide.BUY, OrderSide.SELL
D = Decimal


def legs(entry: str) -> set[tuple[OrderId, OrderRole]]:
    return {
        (OrderId(f"{entry}-sl"), OrderRole.STOP_LOSS),
        (OrderId(f"{entry}-tp"), OrderRole.TAKE_PROFIT),
    }


def test_closing_a_position_keeps_the_legs_of_an_entry_still_working() -> None:
    desk = Desk()
    desk.place("a", BUY, "10", stop_loss="95", take_profit="110")
    desk.quote("100", "100")
    desk.place(
        "b", BUY, "10", order_type=OrderType.LIMIT, limit="98", stop_loss="93", take_profit="108"
    )
    desk.place("exit", SELL, "10", reduce_only=True)
    desk.quote("100", "100")
    assert desk.held() == 0
    assert {OrderId("b-sl"), OrderId("b-tp")} <= desk.account_working()
    desk.quote("97.5", "97.5")
    assert desk.held() == 10
    assert desk.protection() == legs("b")
    desk.assert_agreed()


def test_a_gap_through_the_stop_after_a_partial_exit_closes_what_is_held() -> None:
    desk = Desk()
    desk.place("a", BUY, "10", stop_loss="95", take_profit="110")
    desk.quote("100", "100")
    desk.place("trim", SELL, "4", reduce_only=True)
    desk.quote("100", "100")
    assert desk.held() == 6
    assert desk.protection() == legs("a")
    desk.quote("90", "90")
    assert not any(isinstance(e, FillRejected) for e in desk.account.events)
    [stopped] = [
        e for e in desk.account.events if isinstance(e, OrderFilledV2) and e.order_id == "a-sl"
    ]
    assert stopped.quantity == 6
    assert stopped.price == D("89.98")  # the gap's price less the equity slippage of 2 bps
    assert desk.held() == 0
    assert desk.account_working() == set()
    desk.assert_agreed()


def test_an_order_whose_final_fill_is_refused_ends_in_the_account_and_the_venue() -> None:
    desk = Desk(cash="10000")
    desk.place("big", BUY, "95")  # reserved at the mark of 100
    desk.quote("120", "120")  # the gap: 95 x 120 is more cash than there is
    assert [type(e) for e in desk.account.events if isinstance(e, FillRejected)] == [FillRejected]
    assert desk.venue_working() == set()
    assert desk.account_working() == set()
    assert desk.account.state.reserved == 0
    desk.assert_agreed()


def test_a_refused_entry_takes_its_unborn_legs_with_it() -> None:
    desk = Desk(cash="10000")
    desk.place("big", BUY, "95", stop_loss="90", take_profit="130")
    desk.quote("120", "120")
    assert desk.account_working() == set()
    assert desk.account.state.reserved == 0
    desk.assert_agreed()


def test_legs_of_a_closed_position_do_not_revive_when_a_new_entry_fills_on_the_same_quote() -> None:
    desk = Desk()
    desk.place("a", BUY, "4", stop_loss="98", take_profit="110")
    desk.quote("100", "100")
    desk.place("trim", SELL, "4", reduce_only=True)
    desk.place("b", BUY, "5", stop_loss="96", take_profit="110")  # a's stop is reached first
    desk.quote("90", "90")  # the exit, the new entry and a gap through both stops at once
    assert not any(isinstance(e, FillRejected) for e in desk.account.events)
    [stopped] = [
        e for e in desk.account.events if isinstance(e, OrderFilledV2) and e.order_id == "b-sl"
    ]
    assert stopped.quantity == 5
    assert desk.held() == 0
    assert desk.account_working() == set()
    desk.assert_agreed()
