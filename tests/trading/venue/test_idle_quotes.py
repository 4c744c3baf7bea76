"""Quotes of a symbol with nothing working: the market still moves the book as it would."""

from __future__ import annotations

from papertape.contract.events.orders import OrderSide, OrderType
from papertape.trading.venue import Venue
from papertape.trading.venue.book import SymbolBook
from papertape.trading.venue.scenarios import at, placed, quote

MARKET = [
    quote("100.00", "100.02", at(1)),
    quote("100.40", "100.44", at(2)),
    quote("99.90", "99.96", at(3)),
    quote("99.90", "99.96", at(4), in_session=False),
    quote("100.10", "100.12", at(5)),
]


def market_state(book: SymbolBook) -> tuple[object, ...]:
    return (book.last_mid, book.volatility_bps, book.in_session, book.last_market, book.has_quotes)


def test_quotes_on_an_idle_book_move_its_market_as_on_a_book_with_a_resting_order() -> None:
    idle, busy = Venue(), Venue()
    # A buy limit far below the market: it keeps the book busy and never fills.
    busy.on_account_event(placed("rest", OrderSide.BUY, "1", OrderType.LIMIT, limit="1.00"))
    for market in MARKET:
        assert idle.on_quote(market) == []
        assert busy.on_quote(market) == []
        assert market_state(idle.state.books[market.symbol]) == market_state(
            busy.state.books[market.symbol]
        )
    assert not busy.state.books[MARKET[0].symbol].idle()
    book = idle.state.books[MARKET[0].symbol]
    assert book.idle()
    assert book.volatility_bps > 0
    assert book.last_mid == (MARKET[-1].bid + MARKET[-1].ask) / 2


def test_an_order_after_idle_quotes_fills_on_the_next_quote_and_not_on_a_repeat() -> None:
    venue = Venue()
    venue.on_quote(MARKET[0])
    venue.on_account_event(placed("o1", OrderSide.BUY, "10"))
    assert venue.on_quote(MARKET[0]) == []  # a redelivered quote was matched already
    [fill] = venue.on_quote(MARKET[1])
    assert fill.order_id == "o1"
    assert venue.state.books[MARKET[0].symbol].idle()
