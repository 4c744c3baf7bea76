"""HTTP for the keyed vendors: JSON over httpx, failures sorted into transient and not."""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
import msgspec

from papertape.common.clock import Clock, SystemClock
from papertape.contract.bounds import MAX_AMOUNT
from papertape.contract.instruments import instrument_for
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.feeds.base import (
    SourceUnavailable,
    UnusableVendorValue,
    VendorShapeChanged,
)

S = TypeVar("S")


def api_key(variable: str) -> str:
    """A vendor key from the environment; a missing key makes the source unavailable."""
    key = os.environ.get(variable, "")
    if not key:
        raise SourceUnavailable(f"{variable} is not set")
    return key


async def get_json(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> Any:
    """GET a JSON document; timeouts, 429 and 5xx are transient, other errors are not."""
    try:
        response = await client.get(url, params=params)
    except httpx.TransportError as error:
        raise TransientSourceError(f"{url}: {error!r}") from error
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientSourceError(f"{url}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise SourceUnavailable(f"{url}: HTTP {response.status_code}")
    return response.json()


def parse(document: Any, shape: type[S], source: str) -> S:
    """A vendor's decoded JSON as the adapter's typed shape; a shape that changed is the
    source's failure (the aggregator moves on to the next source), not a KeyError later."""
    try:
        return msgspec.convert(document, shape, strict=False)
    except msgspec.ValidationError as error:
        raise VendorShapeChanged(f"{source}: unexpected answer: {error}") from error


def price(symbol: str, value: Any) -> Decimal:
    """A vendor's number (text or float) as a price on the symbol's tick. A number that is no
    price (``NaN``, infinite, zero or less, below the tick, past the contract's bound) is the
    source's failure (``UnusableVendorValue``: the aggregator asks the next source), never a
    quote: a price of 0 would fill orders for nothing."""
    number = _number(value, f"{symbol}'s price")
    if not 0 < number <= MAX_AMOUNT:
        raise UnusableVendorValue(f"{symbol}'s price {str(value)!r} is not in (0, {MAX_AMOUNT}]")
    on_tick = instrument_for(symbol).price(number)
    if on_tick <= 0:
        raise UnusableVendorValue(f"{symbol}'s price {str(value)!r} is below its tick")
    return on_tick


def size(value: Any) -> Decimal:
    """A vendor's size or volume as an exact Decimal (0 when absent); one that is no size
    (``NaN``, infinite, below zero, past the contract's bound) is ``UnusableVendorValue``."""
    if value in (None, ""):
        return Decimal(0)
    number = _number(value, "a size")
    if not 0 <= number <= MAX_AMOUNT:
        raise UnusableVendorValue(f"a size {str(value)!r} is not in [0, {MAX_AMOUNT}]")
    return number


def _number(value: Any, what: str) -> Decimal:
    """A vendor's number as a finite Decimal."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise UnusableVendorValue(f"{what} {str(value)!r} is not a number") from None
    if not number.is_finite():
        raise UnusableVendorValue(f"{what} {str(value)!r} is not finite")
    return number


class HttpSource:
    """What every HTTP vendor adapter holds: a client, a clock and the vendor's base URL."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        base_url: str,
    ) -> None:
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._clock = clock or SystemClock()
        self._base = base_url
