"""Each instrument trades at its own tick and lot, and a taker's price rounds against it (issue 8).

The account and the venue are driven together through a ``Desk``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.events.account import FillRejected, OrderFilledV2, OrderRejected
from papertape.contract.events.orders import OrderSide
from papertape.contract.instruments import crypto, equity, instrument_for
from papertape.trading.costs import taker_price
from tests.trading.desk import Desk

D = Decimal


def fills(desk: Desk) -> list[OrderFilledV2]:
    return [e for e in desk.account.events if isinstance(e, OrderFilledV2)]


def test_dogeusd_fills_at_its_own_tick_not_at_the_cent() -> None:
    desk = Desk(marks={"DOGEUSD": "0.0813"})
    desk.place("doge", OrderSide.BUY, "1000", symbol="DOGEUSD")
    desk.quote("0.0812", "0.0813", symbol="DOGEUSD")
    [filled] = fills(desk)
    assert filled.price >= D("0.0813")  # the ask, moved by slippage against the buyer
    assert filled.price < D("0.0814")
    assert filled.price == instrument_for("DOGEUSD").price(filled.price)
    assert desk.held("DOGEUSD") == 1000
    desk.assert_agreed()


def test_shibusdt_fills_instead_of_rounding_to_zero_and_leaves_no_zombie() -> None:
    desk = Desk(marks={"SHIBUSDT": "0.00000812"})
    desk.place("shib", OrderSide.BUY, "1000000", symbol="SHIBUSDT")
    desk.quote("0.00000811", "0.00000812", symbol="SHIBUSDT")
    assert not any(isinstance(e, FillRejected | OrderRejected) for e in desk.account.events)
    [filled] = fills(desk)
    assert D("0.00000812") <= filled.price <= D("0.00000813")  # slippage: a tick up at most
    assert desk.held("SHIBUSDT") == 1_000_000
    assert desk.account_working() == set()
    desk.assert_agreed()


@pytest.mark.parametrize(
    ("symbol", "tick", "lot"),
    [
        ("BTCUSD", "0.01", "0.000001"),
        ("DOGEUSD", "0.00001", "1"),
        ("SHIBUSDT", "0.00000001", "1"),
        ("XRPUSDT", "0.0001", "0.1"),
        ("SOL-USD", "0.01", "0.001"),
        ("ETH/BTC", "0.000001", "0.000001"),
    ],
)
def test_each_coin_has_its_own_tick_and_lot(symbol: str, tick: str, lot: str) -> None:
    instrument = instrument_for(symbol)
    assert (instrument.tick_size, instrument.lot_size) == (D(tick), D(lot))


def test_a_lot_that_is_not_the_coins_is_refused() -> None:
    desk = Desk(marks={"DOGEUSD": "0.0813"})
    [refused] = desk.place("doge", OrderSide.BUY, "10.5", symbol="DOGEUSD")
    assert isinstance(refused, OrderRejected)
    assert "lot" in refused.message


def test_taker_prices_round_against_the_trader() -> None:
    aapl = equity("AAPL")
    # 100.005 is half a cent: half-even would give 100.00 to the buyer.
    assert taker_price(aapl, D(100), 1, D("0.5")) == D("100.01")
    assert taker_price(aapl, D(100), -1, D("0.5")) == D("99.99")
    doge = crypto("DOGEUSD")
    assert taker_price(doge, D("0.08131"), 1, D("1")) == D("0.08132")
    assert taker_price(doge, D("0.08131"), -1, D("1")) == D("0.08130")
