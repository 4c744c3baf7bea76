"""Instruments: what is traded, in which currency, and at which precision."""

from __future__ import annotations

import enum
import functools
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import msgspec

from papertape.contract.ids import Symbol
from papertape.contract.money import DECIMAL_CONTEXT, quantize_to

_UP = ROUND_CEILING
_DOWN = ROUND_FLOOR


class AssetClass(enum.StrEnum):
    """The kinds of market papertape trades."""

    EQUITY = "equity"
    FX = "fx"
    CRYPTO = "crypto"


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradable instrument and its increments."""

    symbol: Symbol
    asset_class: AssetClass
    quote_currency: str
    tick_size: Decimal
    lot_size: Decimal
    price_precision: int
    pip_size: Decimal | None = None
    quantity_precision: int = 0
    min_quantity: Decimal = Decimal(0)

    def price(self, value: Decimal) -> Decimal:
        """A price rounded to the instrument's tick."""
        return quantize_to(value, self.tick_size)

    def price_against(self, value: Decimal, sign: int) -> Decimal:
        """A taker's price on the tick, rounded against the trader (a buy up, a sell down)."""
        return quantize_to(value, self.tick_size, _UP if sign > 0 else _DOWN)

    def quantity(self, value: Decimal) -> Decimal:
        """A quantity rounded to the instrument's lot."""
        return quantize_to(value, self.lot_size)

    def pips(self, price_move: Decimal) -> Decimal:
        """A price move in pips (FX); the raw move where pips mean nothing."""
        if self.pip_size is None:
            return price_move
        return DECIMAL_CONTEXT.divide(price_move, self.pip_size)


def equity(symbol: str, currency: str = "USD") -> Instrument:
    """A share: cent ticks, whole-share lots."""
    return Instrument(
        symbol=Symbol(symbol),
        asset_class=AssetClass.EQUITY,
        quote_currency=currency,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        price_precision=2,
    )


def fx(symbol: str) -> Instrument:
    """A currency pair such as EURUSD or USDJPY: pips at 0.0001 (0.01 for JPY)."""
    quote = symbol[-3:]
    jpy = quote == "JPY"
    return Instrument(
        symbol=Symbol(symbol),
        asset_class=AssetClass.FX,
        quote_currency=quote,
        tick_size=Decimal("0.001") if jpy else Decimal("0.00001"),
        lot_size=Decimal(1),
        price_precision=3 if jpy else 5,
        pip_size=Decimal("0.01") if jpy else Decimal("0.0001"),
    )


COIN_INCREMENTS: dict[str, tuple[Decimal, Decimal]] = {
    "BTC": (Decimal("0.01"), Decimal("0.000001")),
    "ETH": (Decimal("0.01"), Decimal("0.000001")),
    "SOL": (Decimal("0.01"), Decimal("0.001")),
    "BNB": (Decimal("0.01"), Decimal("0.001")),
    "LTC": (Decimal("0.01"), Decimal("0.001")),
    "AVAX": (Decimal("0.01"), Decimal("0.01")),
    "DOT": (Decimal("0.001"), Decimal("0.01")),
    "LINK": (Decimal("0.001"), Decimal("0.01")),
    "XRP": (Decimal("0.0001"), Decimal("0.1")),
    "ADA": (Decimal("0.0001"), Decimal("0.1")),
    "DOGE": (Decimal("0.00001"), Decimal(1)),
    "SHIB": (Decimal("0.00000001"), Decimal(1)),
}
"""Tick and lot of a coin against a dollar (USD, USDT, USDC), as the large venues list them.

SHIB's tick has eight decimals: its prices (about 0.00001) still print without an exponent.
"""
UNKNOWN_COIN_INCREMENTS = (Decimal("0.000001"), Decimal("0.000001"))
"""A coin not listed, or one quoted in another coin (ETH/BTC): fine enough for any price."""


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _base_of(symbol: str, quote: str) -> str:
    """The coin a crypto symbol trades: BTCUSD, BTC/USD and BTC-USD all trade BTC."""
    for separator in ("/", "-"):
        if separator in symbol:
            return symbol.split(separator, 1)[0]
    return symbol[: -len(quote)] if symbol.endswith(quote) else symbol


def crypto(symbol: str, quote: str = "USD") -> Instrument:
    """A coin against a quote currency, at the coin's own tick and lot (``COIN_INCREMENTS``)."""
    dollar_or_fiat = quote in _CRYPTO_QUOTES or quote in FIAT_CURRENCIES
    known = COIN_INCREMENTS.get(_base_of(symbol, quote)) if dollar_or_fiat else None
    tick, lot = known if known is not None else UNKNOWN_COIN_INCREMENTS
    return Instrument(
        symbol=Symbol(symbol),
        asset_class=AssetClass.CRYPTO,
        quote_currency=quote,
        tick_size=tick,
        lot_size=lot,
        price_precision=_places(tick),
        quantity_precision=_places(lot),
    )


FIAT_CURRENCIES = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "AUD",
        "NZD",
        "CAD",
        "SEK",
        "NOK",
        "DKK",
        "HKD",
        "SGD",
        "MXN",
        "ZAR",
        "TRY",
        "CNH",
        "PLN",
        "CZK",
        "HUF",
    }
)
_CRYPTO_QUOTES = ("USDT", "USDC", "USD")


DEFAULT_INSTRUMENTS: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        equity("AAPL"),
        equity("MSFT"),
        equity("SPY"),
        fx("EURUSD"),
        fx("GBPUSD"),
        fx("USDJPY"),
        crypto("BTCUSD"),
        crypto("ETHUSD"),
        crypto("DOGEUSD"),
        crypto("SHIBUSDT", quote="USDT"),
    )
}


@functools.cache  # instruments are immutable; asked for on every quote and order
def instrument_for(symbol: str) -> Instrument:
    """The known instrument for a symbol, else a guess from its shape."""
    # Two fiat codes (GBPJPY): FX; BASE/QUOTE, or a coin against USD, USDT or USDC (SOLUSDT,
    # SOLUSD, SOL-USD): crypto; anything else (BRK-B): an equity.
    known = DEFAULT_INSTRUMENTS.get(symbol)
    if known is not None:
        return known
    if len(symbol) == 6 and symbol[:3] in FIAT_CURRENCIES and symbol[3:] in FIAT_CURRENCIES:
        return fx(symbol)
    if "/" in symbol:
        return crypto(symbol, quote=symbol.rsplit("/", 1)[1])
    if symbol.rsplit("-", 1)[-1] in _CRYPTO_QUOTES and "-" in symbol:  # BTC-USD (Yahoo's style)
        return crypto(symbol, quote=symbol.rsplit("-", 1)[1])
    for quote in _CRYPTO_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote) and symbol.isalnum():
            return crypto(symbol, quote=quote)
    return equity(symbol)
