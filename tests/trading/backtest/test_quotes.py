"""A backtest given the quotes the bars were built from: its venue fills on the quotes, at the
first quote at or after the signal bar's end (as a paper venue on a settled replay does)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import msgspec

from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.trading.backtest import NO_COSTS, Backtest, BacktestConfig
from papertape.trading.backtest.quotes import run_on_quotes
from papertape.trading.backtest.whatif import Models, Recorded, what_if
from papertape.trading.strategies.crossover import MovingAverageCrossover
from tests.trading.backtest.rules import T0
from tests.trading.backtest.test_engine import FAR_STOPS

SMA = {"fast": 2, "slow": 3, "average": "sma", "atr_period": 2}


def quotes_of(minutes: list[list[str]]) -> list[QuoteReceived]:
    """Quotes every 15 s, a minute's list of last prices at a time, a cent either side."""
    out = []
    for minute, prices in enumerate(minutes):
        for i, price in enumerate(prices):
            ts = T0 + timedelta(minutes=minute, seconds=15 * i)
            last = Decimal(price)
            out.append(QuoteReceived(
                symbol=Symbol("AAPL"), bid=last - Decimal("0.01"), ask=last + Decimal("0.01"),
                last=last, ts_event=ts, ts_init=ts, source="test",
            ))  # fmt: skip
    return out


def bars_of(quotes: list[QuoteReceived]) -> list[BarClosed]:
    """One-minute bars of the quotes' last prices, as market-data builds them."""
    bars = []
    for minute in range(int((quotes[-1].ts_event - T0).total_seconds()) // 60 + 1):
        start = T0 + timedelta(minutes=minute)
        prices = [
            q.last
            for q in quotes
            if q.last is not None and start <= q.ts_event < start + timedelta(minutes=1)
        ]
        bars.append(BarClosed(
            symbol=Symbol("AAPL"), timeframe=Timeframe.M1, open=prices[0], high=max(prices),
            low=min(prices), close=prices[-1], volume=Decimal(1000), start=start,
            end=start + timedelta(minutes=1),
            source="test",
        ))  # fmt: skip
    return bars


def run(quotes: list[QuoteReceived], bars: list[BarClosed] | None = None) -> Backtest:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters=SMA,
        symbols=("AAPL",),
        overrides=FAR_STOPS,
        schedule=NO_COSTS,
    )
    engine = Backtest(config)
    bars = bars if bars is not None else bars_of(quotes)
    if quotes:
        run_on_quotes(engine, bars, quotes)
    else:
        engine.run(bars)
    return engine


def fills(engine: Backtest) -> list[OrderFilledV2]:
    return [e for e in engine.log.of("account-backtest") if isinstance(e, OrderFilledV2)]


# Flat at 100, a close of 101 on bar 3 crosses SMA(2) over SMA(3): a BUY on bar 3's close.
MINUTES = [["100"] * 4] * 3 + [["100", "100", "100", "101"]]


def test_the_entry_fills_at_the_ask_of_the_first_quote_after_the_signal_bar() -> None:
    quotes = quotes_of([*MINUTES, ["102", "105", "99", "100"], ["100"] * 4])
    [fill] = fills(run(quotes))
    assert (fill.price, fill.ts) == (Decimal("102.01"), T0 + timedelta(minutes=4))


def test_on_the_bars_alone_the_same_entry_fills_at_the_next_open_stamped_at_its_end() -> None:
    quotes = quotes_of([*MINUTES, ["102", "105", "99", "100"], ["100"] * 4])
    [fill] = fills(run([], bars_of(quotes)))
    assert (fill.price, fill.ts) == (Decimal("102.00"), T0 + timedelta(minutes=5))


def test_a_stop_leg_fills_at_the_quote_that_crosses_it() -> None:
    # A 10% stop under the entry's 101 is 90.90: the quote at 4:45 (last 90) goes through it.
    quotes = quotes_of([*MINUTES, ["102", "101", "95", "90"], ["90"] * 4])
    entry, stop = fills(run(quotes))
    assert entry.price == Decimal("102.01")
    assert (stop.price, stop.ts) == (Decimal("89.99"), T0 + timedelta(minutes=4, seconds=45))


def test_quotes_before_the_first_bar_are_passed_over_and_the_log_is_the_same_twice() -> None:
    minute = timedelta(minutes=1)
    early = [
        msgspec.structs.replace(q, ts_event=q.ts_event - minute, ts_init=q.ts_init - minute)
        for q in quotes_of([["50"] * 4])
    ]
    quotes = quotes_of([*MINUTES, ["102", "105", "99", "100"], ["100"] * 4])
    with_early = run([*early, *quotes], bars_of(quotes))
    assert [f.price for f in fills(with_early)] == [Decimal("102.01")]
    again = run([*early, *quotes], bars_of(quotes))
    assert with_early.log.envelopes == again.log.envelopes


def test_what_if_on_the_same_quotes_places_each_order_before_the_first_quote_after_it() -> None:
    """The account's own orders again (what-if) with the quotes, under the recorded models:
    each order reaches the venue before the first quote after its time, so every fill is the
    recorded one; on the bars alone the entry fills a bar later, at the next open."""
    quotes = quotes_of([*MINUTES, ["102", "101", "95", "90"], ["90"] * 4])
    bars = bars_of(quotes)
    engine = run(quotes)
    recorded = Recorded.of(engine.log.of("account-backtest"))
    entry, stop = recorded.fills
    _, on_quotes = what_if(recorded, bars, Models(), quotes)
    assert [(f.order_id, f.price, f.ts) for f in on_quotes] == [
        (f.order_id, f.price, f.ts) for f in (entry, stop)
    ]
    _, on_bars = what_if(recorded, bars, Models())
    assert (on_bars[0].price, on_bars[0].ts) == (Decimal("102.00"), T0 + timedelta(minutes=5))
