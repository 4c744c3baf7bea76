"""The mark book takes a quote as the mark only when it can be the market."""

from __future__ import annotations

from decimal import Decimal

from papertape.portfolio.marks import MarkBook
from papertape.trading.venue.sanity import Check
from papertape.trading.venue.scenarios import quote

D = Decimal


def test_a_crossed_or_absurd_quote_is_refused_and_the_mark_stays_the_last_good_price() -> None:
    marks = MarkBook(price_band=D("0.5"))
    assert marks.update(quote("99.99", "100.01")) is None
    symbol = quote("1", "1").symbol

    crossed = marks.update(quote("101", "100"))
    absurd = marks.update(quote("999", "1001", last="1000"))

    assert crossed is not None
    assert crossed.check is Check.CROSSED
    assert absurd is not None
    assert absurd.check is Check.JUMP
    assert marks.prices() == {symbol: D("100.00")}
    assert marks.update(quote("120", "120.02")) is None
    assert marks.prices() == {symbol: D("120.01")}
