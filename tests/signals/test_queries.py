"""A session's status: realized and unrealized P&L since it started, its trades listed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import SessionFillRecorded, StartSession
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.signals.portfolio import Marks
from papertape.signals.queries import view
from papertape.trading.strategies.bots import Bot
from papertape.trading.strategies.sessions import decide
from tests.trading.strategies.bars import T0


def fill(fill_id: str, side: OrderSide, qty: str, price: str, pnl: str) -> SessionFillRecorded:
    return SessionFillRecorded(
        session_id="bot",
        ts=T0 + timedelta(minutes=1),
        order_id=OrderId(f"order-{fill_id}"),
        fill_id=fill_id,
        symbol=Symbol("BTCUSD"),
        side=side,
        price=Decimal(price),
        quantity=Decimal(qty),
        fee=Decimal("1.00"),
        realized_pnl=Decimal(pnl),
    )


def test_the_status_gives_realized_and_unrealized_pnl_at_the_accounts_marks() -> None:
    bot = Bot()
    start = StartSession(
        session_id="bot",
        account_id=AccountId("acc"),
        strategy="ma_crossover",
        symbols=(Symbol("BTCUSD"),),
    )
    bot.apply(decide(start, bot.state, T0))
    bot.apply(
        [
            fill("f1", OrderSide.BUY, "0.5", "40000", "0"),
            fill("f2", OrderSide.SELL, "0.5", "40100", "50"),  # a round trip: +50, fees 2
            fill("f3", OrderSide.BUY, "0.2", "40000", "0"),  # open
        ]
    )
    marks = {
        "acc": Marks(
            at=T0 + timedelta(minutes=2), prices={"BTCUSD": (Decimal("40123.45"), Decimal(1))}
        )
    }

    status = view(bot, T0 + timedelta(minutes=3), marks)

    assert status.realized_pnl == Decimal("47.00")  # 50 less three fees
    assert status.unrealized_pnl == Decimal("24.69")  # 0.2 x 123.45
    assert status.total_pnl == Decimal("71.69")
    assert status.marked_at == T0 + timedelta(minutes=2)
    closed, still_open = status.closed_trades
    assert (closed.exit_reason, closed.pnl) == ("account", Decimal("48.00"))
    assert (still_open.exit_at, still_open.pnl) == (None, Decimal("24.69"))
    unmarked = view(bot, T0 + timedelta(minutes=3))
    assert (unmarked.unrealized_pnl, unmarked.marked_at) == (Decimal(0), None)
