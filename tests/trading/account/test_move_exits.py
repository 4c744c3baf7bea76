"""Moving a position's exits: one decision that cancels the old exits and places the new ones,
or refuses it all and leaves the old ones working."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from papertape.contract.events.account import (
    CommandRejected,
    HaltTrading,
    MoveExits,
    OrderCancelled,
    OrderPlaced,
)
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId, Symbol
from papertape.trading.account.scenarios import (
    AAPL,
    ACCOUNT,
    Scenario,
    fill,
    kinds,
    order,
    wide_open,
)

D = Decimal


def move(order_id: str = "m1", **kw: Any) -> MoveExits:
    """A MoveExits of the AAPL position."""
    return MoveExits(account_id=ACCOUNT, order_id=OrderId(order_id), symbol=AAPL, **kw)


def bracketed() -> Scenario:
    """Long 10 AAPL at 100, its bracket's stop at 98 and target at 105 working."""
    return Scenario(wide_open()).given(
        order("o1", stop_loss=D(98), take_profit=D(105)), fill("o1", "100")
    )


def working(s: Scenario) -> dict[str, str]:
    """The working orders: their type and price."""
    return {
        o.order_id: f"{o.order_type} {o.stop_price or o.limit_price}"
        for o in s.state.orders.values()
    }


def refusal(events: list[Any]) -> CommandRejected:
    assert kinds(events) == ["CommandRejected"], events
    rejected = events[0]
    assert isinstance(rejected, CommandRejected)
    assert rejected.command == "move_exits"
    return rejected


def test_moving_both_exits_cancels_the_brackets_and_places_reduce_only_ones() -> None:
    s = bracketed()
    events = s.when(move(stop_loss=D(95), take_profit=D(110)))
    assert kinds(events) == ["OrderCancelled", "OrderCancelled", "OrderPlaced", "OrderPlaced"]
    assert [e.order_id for e in events if isinstance(e, OrderCancelled)] == ["o1-sl", "o1-tp"]
    placed = [e for e in events if isinstance(e, OrderPlaced)]
    assert [(p.order_id, p.side, p.quantity, p.reduce_only) for p in placed] == [
        ("m1-sl", OrderSide.SELL, D(10), True),
        ("m1-tp", OrderSide.SELL, D(10), True),
    ]
    assert working(s) == {"m1-sl": "stop 95", "m1-tp": "limit 110"}


def test_moving_the_stop_alone_leaves_the_take_profit_working() -> None:
    s = bracketed()
    events = s.when(move(stop_loss=D(95)))
    assert kinds(events) == ["OrderCancelled", "OrderPlaced"]
    assert working(s) == {"o1-tp": "limit 105", "m1-sl": "stop 95"}
    cancelled = events[0]
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.reason == "stop_loss moved to 95"


def test_a_move_refused_by_a_halted_account_leaves_the_old_exits_working() -> None:
    s = bracketed().given(HaltTrading(account_id=ACCOUNT, reason="desk closed"))
    before = working(s)
    rejected = refusal(s.when(move(stop_loss=D(95), take_profit=D(110))))
    assert rejected.reason_code is RejectReason.TRADING_HALTED
    assert "desk closed" in rejected.message
    assert working(s) == before


def test_a_take_profit_on_the_wrong_side_refuses_the_stop_moved_with_it() -> None:
    s = bracketed()
    before = working(s)
    rejected = refusal(s.when(move(stop_loss=D(95), take_profit=D(99))))
    assert rejected.reason_code is RejectReason.INVALID_ORDER
    assert rejected.message.startswith("take_profit 99 is on the wrong side of the mark 100")
    assert working(s) == before


def test_an_exit_off_the_tick_is_refused_naming_the_commands_field() -> None:
    s = bracketed()
    rejected = refusal(s.when(move(stop_loss=D("95.001"))))
    assert rejected.reason_code is RejectReason.INVALID_ORDER
    assert rejected.message.startswith("stop_loss 95.001 is not a positive multiple of the tick")
    assert "o1-sl" in s.state.orders


def test_a_stop_loss_above_a_long_is_refused() -> None:
    s = bracketed()
    rejected = refusal(s.when(move(stop_loss=D(101))))
    assert rejected.message.startswith("stop_loss 101 is on the wrong side")


def test_a_move_retried_with_its_order_id_moves_nothing_again() -> None:
    s = bracketed()
    first = s.when(move(stop_loss=D(95)))
    assert kinds(first) == ["OrderCancelled", "OrderPlaced"]
    assert s.when(move(stop_loss=D(95))) == []
    assert s.when(move(stop_loss=D(96))) == []  # the same ids: the same move, decided once
    assert working(s) == {"o1-tp": "limit 105", "m1-sl": "stop 95"}


def test_a_move_without_a_position_is_refused() -> None:
    s = Scenario(wide_open())
    rejected = refusal(s.when(move(stop_loss=D(95))))
    assert rejected.reason_code is RejectReason.NO_POSITION
    assert rejected.message == "account acc-1 holds no position in AAPL"
    elsewhere = MoveExits(
        account_id=ACCOUNT, order_id=OrderId("m2"), symbol=Symbol("MSFT"), stop_loss=D(95)
    )
    assert refusal(bracketed().when(elsewhere)).reason_code is RejectReason.NO_POSITION


def test_a_move_of_no_exit_is_refused() -> None:
    s = bracketed()
    rejected = refusal(s.when(move()))
    assert rejected.reason_code is RejectReason.INVALID_ORDER
    assert rejected.message == "give stop_loss, take_profit or both"


def test_a_move_on_an_account_never_opened_is_refused() -> None:
    rejected = refusal(Scenario().when(move(stop_loss=D(95))))
    assert rejected.reason_code is RejectReason.ACCOUNT_NOT_OPEN


def test_a_reduce_only_stop_is_the_stop_loss_that_moves() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    s.given(
        order("x", OrderSide.SELL, order_type=OrderType.STOP, stop_price=D(90), reduce_only=True)
    )
    events = s.when(move(stop_loss=D(95)))
    assert [e.order_id for e in events if isinstance(e, OrderCancelled)] == ["x"]
    assert working(s) == {"m1-sl": "stop 95"}


def test_the_bracket_of_an_entry_still_waiting_keeps_its_stop() -> None:
    s = bracketed().given(
        order("o2", quantity="1", order_type=OrderType.LIMIT, limit_price=D(90), stop_loss=D(85))
    )
    s.when(move(stop_loss=D(95)))
    assert set(working(s)) == {"o1-tp", "o2", "o2-sl", "m1-sl"}
    assert s.state.orders[OrderId("o2-sl")].role is OrderRole.STOP_LOSS


def test_a_shorts_stop_is_moved_above_the_market_with_a_buy() -> None:
    s = Scenario(wide_open(allow_short=True)).given(
        order("o1", side=OrderSide.SELL, stop_loss=D(104)), fill("o1", "100")
    )
    events = s.when(move(stop_loss=D(102)))
    assert kinds(events) == ["OrderCancelled", "OrderPlaced"]
    placed = events[1]
    assert isinstance(placed, OrderPlaced)
    assert (placed.side, placed.stop_price, placed.reduce_only) == (OrderSide.BUY, D(102), True)
    assert refusal(s.when(move("m2", stop_loss=D(99)))).reason_code is RejectReason.INVALID_ORDER


def test_a_position_with_no_stop_is_given_one() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    assert kinds(s.when(move(stop_loss=D(95)))) == ["OrderPlaced"]
    assert working(s) == {"m1-sl": "stop 95"}
