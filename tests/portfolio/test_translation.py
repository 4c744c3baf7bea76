"""The venue's reports become account commands carrying everything the account needs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from papertape.contract.events.account import ApplyFill
from papertape.contract.events.execution import ExecutionModels, OrderFillReported
from papertape.contract.events.orders import Liquidity, OrderSide
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.portfolio.translation import command_for

D = Decimal


def test_a_fill_report_hands_the_market_bid_and_ask_to_the_account() -> None:
    report = OrderFillReported(
        report_id="o-1.fill.1",
        account_id=AccountId("bob"),
        order_id=OrderId("o-1"),
        ts=datetime(2024, 1, 2, tzinfo=UTC),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=D("100.03"),
        quantity=D(5),
        fee=D(0),
        liquidity=Liquidity.TAKER,
        reference_price=D("100.00"),
        touch_price=D("100.01"),
        spread_cost=D("0.05"),
        slippage=D("0.10"),
        slippage_bps=D(2),
        models=ExecutionModels(),
        remaining=D(0),
        bid=D("99.99"),
        ask=D("100.01"),
    )
    command = command_for(report)
    assert isinstance(command, ApplyFill)
    assert (command.bid, command.ask) == (D("99.99"), D("100.01"))
    # The account checks a report's symbol and side against the order it names.
    assert (command.symbol, command.side) == ("AAPL", OrderSide.BUY)
