"""Market data sanity: zero, crossed, inconsistent or absurd prices never become the market."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.execution import OrderFillReported
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.sanity import REANCHOR_AFTER, Check, bar_refusal, quote_refusal
from papertape.trading.venue.scenarios import at, bar, placed, quote

D = Decimal


def fills(reports: Sequence[object]) -> list[OrderFillReported]:
    return [r for r in reports if isinstance(r, OrderFillReported)]


def test_a_sane_quote_is_taken() -> None:
    assert quote_refusal(quote("99.98", "100.00"), D("100")) is None
    assert quote_refusal(quote("99.98", "100.00"), None) is None


def test_a_crossed_quote_is_refused_with_both_sides_in_the_reason() -> None:
    refusal = quote_refusal(quote("100.10", "100.00"), None)
    assert refusal is not None
    assert refusal.check is Check.CROSSED
    assert "bid 100.10 > ask 100.00" in refusal.reason


def test_a_zero_price_is_refused() -> None:
    for zero in (quote("0", "100"), quote("99", "100", last="0")):
        refusal = quote_refusal(zero, None)
        assert refusal is not None
        assert refusal.check is Check.NON_POSITIVE


def test_a_jump_beyond_the_band_from_the_last_good_price_is_refused() -> None:
    assert quote_refusal(quote("149", "150"), D("100")) is None  # 49.5%: inside 50%
    refusal = quote_refusal(quote("1000", "1001"), D("100"))
    assert refusal is not None
    assert refusal.check is Check.JUMP
    assert "900.50% from the last good price 100" in refusal.reason
    assert quote_refusal(quote("1000", "1001"), D("100"), D(0)) is None  # band 0: no check


def test_a_bar_whose_high_and_low_do_not_hold_its_prices_is_refused() -> None:
    refusal = bar_refusal(bar("100", "99", "98", "99.5"), None)
    assert refusal is not None
    assert refusal.check is Check.INCONSISTENT_BAR
    assert bar_refusal(bar("100", "101", "99", "100.5"), D("100")) is None
    jump = bar_refusal(bar("10", "11", "9", "10"), D("100"))
    assert jump is not None
    assert jump.check is Check.JUMP


def test_the_venue_ignores_a_crossed_quote_and_fills_on_the_next_good_one() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "100"))
    assert venue.on_quote(quote("100.10", "100.00", at(1))) == []  # crossed: not the market
    [fill] = fills(venue.on_quote(quote("99.98", "100.00", at(2))))
    assert fill.touch_price == D("100.00")


def test_an_absurd_print_never_becomes_the_venues_last_good_price() -> None:
    venue = Venue(VenueConfig(price_band=D("0.2")))
    assert venue.on_quote(quote("99.99", "100.01", at(1))) == []
    venue.on_account_event(placed("o1", OrderSide.SELL, "10"))
    assert venue.on_quote(quote("0.99", "1.01", at(2))) == []  # a fat finger: refused
    assert venue.state.book(quote("1", "1").symbol).last_mid == D("100.00")
    [fill] = fills(venue.on_quote(quote("99.98", "100.00", at(3))))
    assert fill.touch_price == D("99.98")


def test_a_real_move_beyond_the_band_is_taken_once_enough_prices_agree_on_it() -> None:
    """A crash of 60%: the first REANCHOR_AFTER - 1 quotes at the new level are refused, the
    next is the market, and a resting buy limit below the old price fills there."""
    venue = Venue(VenueConfig())
    venue.on_quote(quote("99.99", "100.01", at(0)))
    venue.on_account_event(placed("b1", OrderSide.BUY, "10", OrderType.LIMIT, limit="50", ts=at(0)))
    crash = [quote("39.99", "40.01", at(1 + n)) for n in range(REANCHOR_AFTER)]
    refused = [venue.refusal(q) for q in crash[:-1]]
    assert all(r is not None and r.check is Check.JUMP for r in refused)
    assert venue.refusal(crash[-1]) is None
    [fill] = fills(venue.on_quote(crash[-1]))
    assert fill.price <= D("50")


def test_stray_or_disagreeing_prints_never_move_the_band() -> None:
    venue = Venue(VenueConfig())
    venue.on_quote(quote("99.99", "100.01", at(0)))
    strays = [("39.99", "40.01"), ("299.99", "300.01")] * REANCHOR_AFTER
    for n, (bid, ask) in enumerate(strays):
        assert venue.refusal(quote(bid, ask, at(1 + n))) is not None
    # good prices between jumps start the count again
    for n in range(3 * REANCHOR_AFTER):
        tick = (
            quote("39.99", "40.01", at(100 + n)) if n % 2 else quote("99.99", "100.01", at(100 + n))
        )
        refusal = venue.refusal(tick)
        assert (refusal is None) == (n % 2 == 0)
        if refusal is None:
            venue.on_quote(tick)


def test_a_quote_the_caller_checked_is_matched_as_checked_and_a_refused_one_is_left_alone() -> None:
    """A service asks ``refusal`` first (to report it) and then matches with ``checked``: the
    quote is matched as it would have been unchecked, the band's state moves once per quote."""
    checked, unchecked = Venue(VenueConfig()), Venue(VenueConfig())
    for venue in (checked, unchecked):
        venue.on_quote(quote("99.99", "100.01", at(0)))
        venue.on_account_event(placed("b1", OrderSide.BUY, "10", ts=at(0)))
    crash = [quote("39.99", "40.01", at(1 + n)) for n in range(REANCHOR_AFTER)]

    matched = []
    for q in crash:
        if checked.refusal(q) is None:
            matched += fills(checked.on_quote(q, checked=True))
    expected = [f for q in crash for f in fills(unchecked.on_quote(q))]

    assert len(matched) == len(expected) == 1
    assert matched[0].price == expected[0].price
