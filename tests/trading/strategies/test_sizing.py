"""Sizing: risk-based, confidence-scaled, fixed fraction, fixed quantity; lots; account caps."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.events.sessions import Sizing
from papertape.contract.instruments import instrument_for
from papertape.trading.strategies.sizing import AccountRoom, order_quantity
from tests.trading.strategies.bars import RISK

AAPL = instrument_for("AAPL")
BTC = instrument_for("BTCUSD")
ROOM = AccountRoom(equity=Decimal(10000), buying_power=Decimal(10000))


def size(sizing: Sizing, *, room: AccountRoom = ROOM, instrument=AAPL, confidence=80, **kw):  # type: ignore[no-untyped-def]
    risk = msgspec.structs.replace(RISK, sizing=sizing, **kw)
    return order_quantity(
        risk, instrument, room, entry=Decimal(100), stop=Decimal(98), confidence=confidence
    )


def test_risk_sizing_risks_the_percentage_of_equity_over_the_stop_distance() -> None:
    # 1% of 10,000 = 100 at risk over a 2.00 stop distance: 50 shares.
    assert size(Sizing.RISK) == Decimal(50)


def test_confidence_sizing_scales_the_risk_size_by_confidence() -> None:
    assert size(Sizing.CONFIDENCE, confidence=80) == Decimal(40)
    assert size(Sizing.CONFIDENCE, confidence=33) == Decimal(16)  # 16.5 rounded down to a lot


def test_fixed_fraction_buys_a_share_of_equity_in_notional() -> None:
    assert size(Sizing.FIXED_FRACTION, fraction_pct=Decimal(5)) == Decimal(5)


def test_fixed_quantity_is_the_quantity_set() -> None:
    assert size(Sizing.FIXED_QUANTITY, quantity=Decimal(7)) == Decimal(7)


def test_quantities_round_down_to_the_lot() -> None:
    got = size(Sizing.RISK, instrument=BTC, risk_per_trade_pct=Decimal("0.123"))
    assert got == Decimal("6.150000")
    assert got == BTC.quantity(got)


def test_the_accounts_position_limit_caps_the_size() -> None:
    room = AccountRoom(
        equity=Decimal(10000), buying_power=Decimal(10000), max_position_pct=Decimal(3)
    )
    assert size(Sizing.RISK, room=room) == Decimal(3)  # 3% of 10,000 at 100


def test_the_accounts_risk_per_trade_limit_caps_the_size() -> None:
    room = AccountRoom(
        equity=Decimal(10000), buying_power=Decimal(10000), max_risk_per_trade_pct=Decimal("0.5")
    )
    assert size(Sizing.RISK, room=room, risk_per_trade_pct=Decimal(2)) == Decimal(25)


def test_buying_power_caps_the_size() -> None:
    room = AccountRoom(equity=Decimal(10000), buying_power=Decimal(1234))
    assert size(Sizing.RISK, room=room) == Decimal(12)


def test_less_than_a_lot_is_no_trade() -> None:
    room = AccountRoom(equity=Decimal(50), buying_power=Decimal(50))
    assert size(Sizing.RISK, room=room) == Decimal(0)


def test_risk_sizing_without_a_stop_distance_is_no_trade() -> None:
    risk = msgspec.structs.replace(RISK, sizing=Sizing.RISK)
    got = order_quantity(risk, AAPL, ROOM, entry=Decimal(100), stop=Decimal(100), confidence=90)
    assert got == Decimal(0)


def test_a_lot_that_is_not_a_power_of_ten_rounds_down_to_whole_lots() -> None:
    quarters = msgspec.structs.replace(AAPL, lot_size=Decimal("0.25"))
    assert size(Sizing.FIXED_QUANTITY, instrument=quarters, quantity=Decimal("7.99")) == Decimal(
        "7.75"
    )
    hundreds = msgspec.structs.replace(AAPL, lot_size=Decimal(25))
    assert size(Sizing.RISK, instrument=hundreds) == Decimal(50)  # 50 is two lots of 25
    assert size(Sizing.CONFIDENCE, instrument=hundreds, confidence=99) == Decimal(25)  # 49.5
