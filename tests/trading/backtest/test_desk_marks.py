"""The backtest's desk marks what the account holds and the pairs that convert it, as what it
holds changes (the list is worked out again only then)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from papertape.contract.events.account import OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.trading.account.currency import symbols_to_mark
from papertape.trading.backtest.desk import Desk
from papertape.trading.backtest.log import MemoryLog
from papertape.trading.venue.config import VenueConfig
from tests.trading.strategies.bars import T0, bar

ACCOUNT = AccountId("desk")


def _desk() -> Desk:
    desk = Desk(ACCOUNT, VenueConfig(bar_timeframe="1m"), MemoryLog("marks"))
    opened = OpenAccount(account_id=ACCOUNT, name="marks", initial_cash=Decimal(1_000_000))
    desk.command(opened, T0, "start")
    return desk


def _buy(desk: Desk, order_id: str, symbol: str, quantity: str, minute: int) -> None:
    place = PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId(order_id),
        symbol=Symbol(symbol),
        side=OrderSide.BUY,
        quantity=Decimal(quantity),
    )
    desk.command(place, T0 + timedelta(minutes=minute), order_id)


def test_a_pair_that_converts_a_new_position_is_marked_from_then_on() -> None:
    desk = _desk()
    desk.market(bar(150.0, 0, symbol="USDJPY"), "c0")
    desk.market(bar(99.0, 0), "c0")  # the prices orders are decided at
    desk.market(bar(159.0, 0, symbol="EURJPY"), "c0")
    _buy(desk, "o1", "AAPL", "10", 1)
    desk.market(bar(100.0, 1), "c1")  # fills at the open, marked at the close
    assert desk.account.marks[Symbol("AAPL")] == Decimal(100)
    assert Symbol("USDJPY") not in desk.account.marks  # nothing held converts through it
    _buy(desk, "o2", "EURJPY", "1000", 2)
    desk.market(bar(160.0, 2, symbol="EURJPY"), "c2")
    assert Symbol("EURJPY") in desk.account.positions
    assert Symbol("USDJPY") in symbols_to_mark(desk.account)
    desk.market(bar(152.0, 3, symbol="USDJPY"), "c3")  # not held itself: no mark yet
    desk.market(bar(101.0, 4), "c4")  # AAPL held: every symbol to mark is marked
    assert desk.account.marks[Symbol("USDJPY")] == Decimal(152)
    assert desk.account.marks[Symbol("AAPL")] == Decimal(101)
