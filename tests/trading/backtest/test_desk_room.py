"""The desk's room for an order is what the signal service reads from the account's summary
(``room_of(account_summary(state))``), at every bar of a long/short run; and in a currency of
no minor unit (a JPY account, which cannot trade the dollar stock without a rate)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.events.market import BarClosed
from papertape.trading.account.reports import account_summary
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.strategies.crossover import MovingAverageCrossover
from papertape.trading.strategies.requests import room_of
from tests.trading.backtest.rules import wavy_bars


@pytest.mark.parametrize("currency", ["USD", "JPY"])
def test_the_room_is_the_summarys_at_every_bar(currency: str) -> None:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters={"fast": 5, "slow": 12, "direction": "reversal"},
        symbols=("AAPL",),
        base_currency=currency,
        initial_cash=Decimal("25000.37"),
    )
    engine = Backtest(config)
    seen: set[tuple[Decimal, Decimal]] = set()

    def checked(bar: BarClosed) -> None:
        engine.on_bar(bar)
        room = engine.desk.room()
        assert room == room_of(account_summary(engine.account))
        seen.add((room.equity, room.buying_power))

    bars = wavy_bars(600, seed=11)
    engine.start(bars[0])
    for bar in bars:
        checked(bar)
    if currency == "USD":
        assert len(engine.account.closed_trades.to_list()) > 5  # it traded, both ways
        assert len(seen) > 50  # through many equities and buying powers
    else:
        assert seen == {(Decimal(25000), Decimal(25000))}  # the summary's yen
