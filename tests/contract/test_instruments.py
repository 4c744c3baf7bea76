"""Instruments round prices to ticks and quantities to lots, and count pips."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.instruments import (
    DEFAULT_INSTRUMENTS,
    AssetClass,
    crypto,
    equity,
    fx,
    instrument_for,
)


def test_equity_prices_round_to_the_cent_and_quantities_to_whole_shares() -> None:
    aapl = equity("AAPL")
    assert aapl.price(Decimal("187.4350")) == Decimal("187.44")  # half to even
    assert aapl.price(Decimal("187.4250")) == Decimal("187.42")
    assert aapl.quantity(Decimal("10.4")) == Decimal(10)


def test_fx_prices_round_to_the_pipette() -> None:
    assert fx("EURUSD").price(Decimal("1.084126")) == Decimal("1.08413")
    assert fx("USDJPY").price(Decimal("151.23456")) == Decimal("151.235")


def test_crypto_quantities_round_to_the_lot() -> None:
    btc = crypto("BTCUSD")
    assert btc.quantity(Decimal("0.12345678")) == Decimal("0.123457")
    assert btc.price(Decimal("64000.005")) == Decimal("64000.00")


@pytest.mark.parametrize(
    ("symbol", "move", "pips"),
    [
        ("EURUSD", "0.0015", "15"),
        ("EURUSD", "-0.00005", "-0.5"),
        ("USDJPY", "0.15", "15"),
        ("USDJPY", "1.234", "123.4"),
    ],
)
def test_pips_for_eurusd_and_usdjpy(symbol: str, move: str, pips: str) -> None:
    assert fx(symbol).pips(Decimal(move)) == Decimal(pips)


def test_pips_are_the_raw_move_where_pips_mean_nothing() -> None:
    assert equity("AAPL").pips(Decimal("1.25")) == Decimal("1.25")


def test_fx_pairs_quote_in_their_second_currency() -> None:
    usdjpy = fx("USDJPY")
    assert usdjpy.quote_currency == "JPY"
    assert usdjpy.pip_size == Decimal("0.01")
    assert usdjpy.price_precision == 3
    assert fx("EURUSD").pip_size == Decimal("0.0001")


def test_known_symbols_come_from_the_default_table() -> None:
    assert instrument_for("EURUSD") is DEFAULT_INSTRUMENTS["EURUSD"]
    assert instrument_for("BTCUSD").asset_class is AssetClass.CRYPTO


@pytest.mark.parametrize(
    ("symbol", "asset_class", "quote"),
    [
        ("GBPJPY", AssetClass.FX, "JPY"),
        ("AUDNZD", AssetClass.FX, "NZD"),
        ("SOLUSDT", AssetClass.CRYPTO, "USDT"),
        ("SOLUSD", AssetClass.CRYPTO, "USD"),
        ("ETH/BTC", AssetClass.CRYPTO, "BTC"),
        ("SOL-USD", AssetClass.CRYPTO, "USD"),
        ("NVDA", AssetClass.EQUITY, "USD"),
        ("BRK-B", AssetClass.EQUITY, "USD"),
        ("ABCDEF", AssetClass.EQUITY, "USD"),
    ],
)
def test_unknown_symbols_are_guessed_from_their_shape(
    symbol: str, asset_class: AssetClass, quote: str
) -> None:
    instrument = instrument_for(symbol)
    assert instrument.asset_class is asset_class
    assert instrument.quote_currency == quote
    assert instrument.symbol == symbol
