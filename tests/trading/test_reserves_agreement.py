"""Reserves and buying power at the account and the venue together; forged fill reports (8, 9).

Each test drives the real account and the real venue through a ``Desk``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.events.account import (
    ApplyFill,
    FillRejected,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.trading.account.scenarios import ACCOUNT, at
from tests.trading.desk import Desk

BUY, SELL = OrderSide.BUY, OrderSide.SELL
D = Decimal


def test_five_sells_of_a_long_close_it_once_and_open_no_more_than_the_limits_allow() -> None:
    desk = Desk(cash="50000", allow_short=True, limits=RiskLimits(max_position_pct=D(20)))
    desk.place("long", BUY, "90")
    desk.quote("100", "100")
    assert desk.held() == 90
    placed = [desk.place(f"s{i}", SELL, "90") for i in range(5)]
    accepted = [e[0] for e in placed if isinstance(e[0], OrderPlaced)]
    expected = [(OrderId("s0"), D(0)), (OrderId("s1"), D(90))]
    assert [(e.order_id, e.opening_quantity) for e in accepted] == expected
    refused = [e[0] for e in placed if isinstance(e[0], OrderRejected)]
    assert {e.reason_code for e in refused} == {RejectReason.MAX_POSITION_SIZE}
    desk.quote("100", "100")
    assert desk.held() == -90  # 9,000 short: 18% of equity, not 360%
    state = desk.account.state
    assert abs(desk.held()) * 100 <= state.equity * state.limits.max_position_pct / 100
    desk.assert_agreed()


def test_a_long_only_margin_account_never_ends_below_zero_cash_on_a_gap() -> None:
    desk = Desk(cash="10000", allow_short=True)
    desk.place("big", BUY, "90")  # reserved at the mark of 100
    desk.quote("121", "121")  # the gap: 90 x 121 is more than the cash
    [rejected] = [e for e in desk.account.events if isinstance(e, FillRejected)]
    assert rejected.reason_code is RejectReason.INSUFFICIENT_BUYING_POWER
    assert desk.account.state.cash == D(10000)
    assert desk.account.state.reserved == 0
    assert desk.account_working() == desk.venue_working() == set()
    desk.assert_agreed()


def forged(**changes: object) -> ApplyFill:
    fields: dict[str, object] = {
        "account_id": ACCOUNT,
        "fill_id": FillId("forged.fill.1"),
        "order_id": OrderId("rest"),
        "price": D("98"),
        "quantity": D(10),
        "ts": at(30),
        "symbol": Symbol("AAPL"),
        "side": BUY,
    }
    fields.update(changes)
    return ApplyFill(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (forged(price=D(1000)), RejectReason.PRICE_OUTSIDE_LIMIT),
        (forged(quantity=D(11)), RejectReason.OVERFILL),
        (forged(symbol=Symbol("MSFT")), RejectReason.INVALID_FILL),
        (forged(side=SELL), RejectReason.INVALID_FILL),
    ],
    ids=["above-the-limit", "beyond-what-is-left", "wrong-symbol", "wrong-side"],
)
def test_a_forged_fill_report_is_refused_and_the_real_order_works_on(
    report: ApplyFill, reason: RejectReason
) -> None:
    desk = Desk()
    desk.place("rest", BUY, "10", order_type=OrderType.LIMIT, limit="99")
    reserved = desk.account.state.reserved
    [rejected] = desk.command(report)
    assert isinstance(rejected, FillRejected)
    assert rejected.reason_code is reason
    assert desk.account_working() == desk.venue_working() == {OrderId("rest")}
    assert desk.account.state.reserved == reserved
    assert desk.held() == 0
    desk.quote("98.5", "99")  # the real market reaches the limit: the real fill is booked
    [filled] = [e for e in desk.account.events if isinstance(e, OrderFilledV2)]
    assert (filled.order_id, filled.quantity, filled.price) == (OrderId("rest"), D(10), D(99))
    assert desk.account_working() == set()
    desk.assert_agreed()
