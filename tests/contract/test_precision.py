"""One table of precisions: money by currency, prices by tick, quantities by lot, ratios."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract import precision

D = Decimal


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [
        ("USD", "9499.825", "9499.82"),
        ("USD", "0E+4", "0.00"),
        ("USD", "-0.0001", "0.00"),
        ("JPY", "1234.5", "1234"),
        ("JPY", "1E+4", "10000"),
        ("KWD", "1.23456", "1.235"),
        ("BTC", "0.123456789", "0.123457"),
        ("USDT", "1.005", "1.00"),
    ],
)
def test_money_is_shown_in_its_currency_minor_unit(currency: str, amount: str, shown: str) -> None:
    assert str(precision.money(D(amount), currency)) == shown


def test_prices_go_to_the_tick_and_quantities_to_the_lot() -> None:
    assert str(precision.price(D("1.0845678"), "EURUSD")) == "1.08457"
    assert str(precision.price(D("151.23456"), "USDJPY")) == "151.235"
    assert str(precision.price(D("-0.001"), "AAPL")) == "0.00"
    assert str(precision.quantity(D("0.1234567"), "BTCUSD")) == "0.123457"
    assert str(precision.quantity(D("3.0"), "AAPL")) == "3"


def test_ratios_percentages_and_r_multiples_have_their_stated_decimals() -> None:
    third = D(1) / D(3)
    assert str(precision.r_multiple(third)) == "0.33"  # not 28 digits
    assert str(precision.percent(-third / 10**5)) == "0.00"  # not -0.00
    assert str(precision.ratio(third)) == "0.3333"
    assert str(precision.pips(D("12.345"))) == "12.3"


def test_no_stated_precision_would_print_an_exponent() -> None:
    places = [
        precision.PERCENT_DECIMALS,
        precision.RATIO_DECIMALS,
        precision.R_MULTIPLE_DECIMALS,
        precision.PIPS_DECIMALS,
        precision.COIN_DECIMALS,
        *precision.CURRENCY_DECIMALS.values(),
    ]
    assert max(places) <= precision.MAX_DECIMALS
    assert str(precision.money(D("0.0000001"), "BTC")) == "0.000000"


def test_float_statistics_become_decimals_or_none() -> None:
    assert precision.from_float(0.1) == D("0.1")
    assert precision.from_float(float("inf")) is None
    assert precision.from_float(float("nan")) is None
    assert precision.from_float(1e300) is None
    assert precision.from_float(None) is None
    assert repr(precision.seconds(-0.0001)) == "0.0"
