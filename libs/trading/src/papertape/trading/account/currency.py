"""Money in the account's base currency: the rate of a quote currency, from the market's marks.

A rate is base-currency units per unit of the quote currency. It comes from the marks of
currency pairs: the pair itself (``JPYUSD``: its price), its inverse (``USDJPY``: one over
its price), or a cross through USD (``GBPUSD`` x ``EURUSD``'s inverse for GBP on a EUR
account). Dollar stablecoins (USDT, USDC) stand for USD. A rate keeps ``RATE_DIGITS``
significant digits, so what a fill records is what replay and audit book.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.trading.account.state import AccountState, Position

USD = "USD"
ONE = Decimal(1)
RATE_DIGITS = 10
"""Significant digits of a recorded rate (1/151 is 0.006622516556)."""
_RATE_CONTEXT = decimal.Context(prec=RATE_DIGITS, rounding=decimal.ROUND_HALF_EVEN)
_DOLLARS = {"USDT": USD, "USDC": USD}


def currency_of(code: str) -> str:
    """The currency an amount is really in (a dollar stablecoin is a dollar)."""
    upper = code.upper()
    return _DOLLARS.get(upper, upper)


def quote_currency(symbol: str) -> str:
    """The currency an instrument's prices, fees and P&L are in."""
    return currency_of(instrument_for(symbol).quote_currency)


def _pair_rate(marks: Mapping[Symbol, Decimal], quote: str, base: str) -> Decimal | None:
    if quote == base:
        return ONE
    direct = marks.get(Symbol(quote + base))
    if direct is not None and direct > 0:
        return direct
    inverse = marks.get(Symbol(base + quote))
    if inverse is not None and inverse > 0:
        return _RATE_CONTEXT.divide(ONE, inverse)
    return None


def conversion_rate(marks: Mapping[Symbol, Decimal], quote: str, base: str) -> Decimal | None:
    """Base units per unit of ``quote`` at ``marks``; None when no pair or cross is marked."""
    quote, base = currency_of(quote), currency_of(base)
    rate = _pair_rate(marks, quote, base)
    if rate is None and USD not in (quote, base):
        to_usd, from_usd = _pair_rate(marks, quote, USD), _pair_rate(marks, USD, base)
        if to_usd is not None and from_usd is not None:
            rate = to_usd * from_usd
    return None if rate is None else _RATE_CONTEXT.plus(rate)


def rate_for(marks: Mapping[Symbol, Decimal], symbol: str, base: str) -> Decimal | None:
    """The rate that converts ``symbol``'s quote currency to ``base`` (1 when they are one)."""
    quote = quote_currency(symbol)
    if quote == currency_of(base):
        return ONE
    return conversion_rate(marks, quote, base)


def is_pair(symbol: str) -> bool:
    """Whether a symbol's marks are a currency rate (an FX pair)."""
    return instrument_for(symbol).asset_class is AssetClass.FX


def conversion_symbols(base: str, currencies: Iterable[str]) -> set[Symbol]:
    """Every pair whose mark could convert one of ``currencies`` to ``base``."""
    base = currency_of(base)
    pairs: set[Symbol] = set()
    for code in {currency_of(c) for c in currencies} - {base}:
        for a, b in ((code, base), (code, USD), (USD, base)):
            if a != b:
                pairs |= {Symbol(a + b), Symbol(b + a)}
    return pairs


def foreign_currencies(state: AccountState) -> set[str]:
    """Quote currencies other than the base of what the account holds or works orders in."""
    symbols = {*state.positions, *(o.symbol for o in state.orders.values())}
    base = currency_of(state.base_currency)
    return {q for q in map(quote_currency, symbols) if q != base}


def symbols_to_mark(state: AccountState) -> list[Symbol]:
    """What the account needs marks of: its positions and the pairs that convert them."""
    pairs = conversion_symbols(state.base_currency, foreign_currencies(state))
    return sorted({*state.positions, *pairs})


def rerated(
    positions: dict[Symbol, Position], marks: Mapping[Symbol, Decimal], base: str
) -> dict[Symbol, Position]:
    """``positions`` at their quote currency's rate at ``marks`` (kept where none is known).

    The same dict when no rate changed; a new one otherwise.
    """
    moved = positions
    for symbol, position in positions.items():
        rate = rate_for(marks, symbol, base)
        if rate is not None and rate != position.rate:
            if moved is positions:
                moved = dict(positions)
            moved[symbol] = msgspec.structs.replace(position, rate=rate)
    return moved
