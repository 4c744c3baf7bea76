"""A bar no order can reach is not walked (``paths.out_of_reach``): the venue reports exactly
what the full walk of every bar reports, touches of a level included."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.execution import ExecutionModels, ExecutionReport, FillPolicy
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.trading.venue import Venue, VenueConfig, paths
from papertape.trading.venue.scenarios import T0, bar, bracket, costs_set, placed

D = Decimal


def orders(rng: random.Random) -> Iterator[OrderPlaced]:
    """Limits and stops each side of 100 (some a cent from it), brackets, market orders and
    now and then a trailing stop."""
    for n in range(12):
        side = rng.choice((OrderSide.BUY, OrderSide.SELL))
        level = f"{100 + rng.choice((-1, 1)) * rng.choice((0.01, 0.5, 1, 2, 3)):.2f}"
        kind = rng.choice((OrderType.LIMIT, OrderType.STOP))
        at = T0 + timedelta(minutes=rng.randrange(0, 30))
        if kind is OrderType.LIMIT:
            yield placed(f"o{n}", side, "5", kind, limit=level, ts=at)
        else:
            yield placed(f"o{n}", side, "5", kind, stop=level, ts=at)
    for n in range(3):
        at = T0 + timedelta(minutes=rng.randrange(0, 30))
        yield from bracket(f"b{n}", "5", stop_loss="98.50", take_profit="101.50", ts=at)
        yield placed(f"m{n}", rng.choice((OrderSide.BUY, OrderSide.SELL)), "7", ts=at)
    if rng.random() < 0.5:
        kind, side = OrderType.TRAILING_STOP, rng.choice((OrderSide.BUY, OrderSide.SELL))
        yield placed("t", side, "3", kind, trail_amount="0.4", ts=T0 + timedelta(minutes=5))


def reports(seed: int, share: str) -> list[ExecutionReport]:
    """Every report of an hour of random bars; ``share``: of a bar's volume an order may take
    (a small one leaves market orders waiting for the next bars)."""
    rng = random.Random(seed)
    policy = FillPolicy(max_volume_share=D(share))
    venue = Venue(VenueConfig(default=ExecutionModels(fills=policy)))
    venue.on_account_event(costs_set())
    pending = sorted(orders(rng), key=lambda o: o.ts)
    out: list[ExecutionReport] = []
    price = 100.0
    for minute in range(60):
        start = T0 + timedelta(minutes=minute)
        while pending and pending[0].ts <= start:
            out += venue.on_account_event(pending.pop(0))
        open_ = price
        price += rng.choice((-0.5, -0.2, -0.01, 0.0, 0.01, 0.2, 0.5))
        high = max(open_, price) + rng.choice((0.0, 0.01, 0.3))
        low = min(open_, price) - rng.choice((0.0, 0.01, 0.3))
        o, h, lo, c = (f"{x:.2f}" for x in (open_, high, low, price))
        out += venue.on_bar(bar(o, h, lo, c, start, volume="1000"))
    return out


@pytest.mark.parametrize("share", ["1", "0.002"])
@pytest.mark.parametrize("seed", range(30))
def test_skipping_bars_out_of_reach_reports_what_walking_them_does(
    seed: int, share: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skipping = reports(seed, share)
    monkeypatch.setattr(paths, "out_of_reach", lambda book, low, high: False)
    assert skipping == reports(seed, share)


def test_a_level_the_bar_only_touches_is_in_reach() -> None:
    venue = Venue()
    venue.on_account_event(placed("s", OrderSide.SELL, "1", OrderType.STOP, stop="99"))
    assert venue.on_bar(bar("100", "101", "99.5", "100", T0 + timedelta(minutes=1))) == []
    book = venue.state.book(placed("s").symbol)
    assert book.sell_stops  # arrived, and working
    assert not paths.out_of_reach(book, D(99), D(100))
    assert paths.out_of_reach(book, D("99.01"), D(100))
