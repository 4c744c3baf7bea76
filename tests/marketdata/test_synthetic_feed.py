"""The synthetic source: seeded, deterministic, on the tick, with a spread."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.common.clock import FakeClock
from papertape.contract import codec
from papertape.contract.events.market import QuoteReceived
from papertape.contract.instruments import instrument_for
from papertape.marketdata.feeds.synthetic import (
    Regime,
    ResumePoint,
    SymbolModel,
    SyntheticFeed,
    SyntheticGenerator,
    default_model,
)

START = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
SYMBOLS = ("AAPL", "MSFT", "SPY", "EURUSD", "USDJPY", "BTCUSD", "ETHUSD")


def _bytes(seed: int, steps: int = 200, symbols: tuple[str, ...] = SYMBOLS) -> bytes:
    generator = SyntheticGenerator(
        [default_model(s) for s in symbols],
        seed=seed,
        start=START,
        interval=timedelta(milliseconds=250),
        time_scale=60,
    )
    quotes = [q for step in itertools.islice(generator.steps(), steps) for q in step]
    return b"\n".join(codec.encode(q) for q in quotes)


def test_the_same_seed_gives_the_same_quotes_byte_for_byte() -> None:
    assert _bytes(seed=7) == _bytes(seed=7)


def test_another_seed_gives_other_quotes() -> None:
    assert _bytes(seed=7) != _bytes(seed=8)


def test_adding_a_symbol_leaves_the_others_unchanged() -> None:
    alone = _bytes(seed=3, symbols=("AAPL",)).split(b"\n")
    together = _bytes(seed=3, symbols=("AAPL", "BTCUSD")).split(b"\n")
    assert together[0::2] == alone


def test_prices_sit_on_the_instrument_tick_and_bid_is_below_ask() -> None:
    generator = SyntheticGenerator(
        [default_model(s) for s in SYMBOLS],
        seed=1,
        start=START,
        interval=timedelta(seconds=1),
        time_scale=3600,
    )
    for quote in (q for step in itertools.islice(generator.steps(), 300) for q in step):
        tick = instrument_for(quote.symbol).tick_size
        assert quote.bid % tick == 0
        assert quote.ask % tick == 0
        assert quote.bid < quote.ask
        assert quote.last in (quote.bid, quote.ask)
        assert quote.volume >= 0


def test_coins_worth_cents_or_less_quote_at_their_own_tick() -> None:
    generator = SyntheticGenerator(
        [default_model(s) for s in ("DOGEUSD", "SHIBUSDT")],
        seed=1,
        start=START,
        interval=timedelta(seconds=1),
        time_scale=3600,
    )
    for quote in (q for step in itertools.islice(generator.steps(), 300) for q in step):
        tick = instrument_for(quote.symbol).tick_size
        assert 0 < quote.bid < quote.ask
        assert quote.bid % tick == 0
        assert quote.ask % tick == 0
        assert quote.ask < (Decimal("0.2") if quote.symbol == "DOGEUSD" else Decimal("0.0001"))


def test_quotes_are_timestamped_on_the_interval_grid() -> None:
    generator = SyntheticGenerator(
        [default_model("AAPL")],
        seed=1,
        start=START,
        interval=timedelta(milliseconds=250),
    )
    stamps = [step[0].ts_event for step in itertools.islice(generator.steps(), 4)]
    assert stamps == [START + timedelta(milliseconds=250 * i) for i in range(1, 5)]


def test_a_volatile_regime_moves_prices_further_than_a_calm_one() -> None:
    def path_range(volatility: float) -> Decimal:
        model = SymbolModel(
            instrument=instrument_for("AAPL"),
            start_price=Decimal("100.00"),
            regimes=(Regime(drift=0.0, volatility=volatility),),
            regime_switch_probability=1.0,
        )
        generator = SyntheticGenerator([model], seed=5, start=START, interval=timedelta(minutes=1))
        mids = [(s[0].bid + s[0].ask) / 2 for s in itertools.islice(generator.steps(), 500)]
        return max(mids) - min(mids)

    assert path_range(2.0) > path_range(0.05)


async def test_an_unpaced_feed_yields_the_generators_quotes() -> None:
    feed = SyntheticFeed([default_model("BTCUSD")], seed=9, clock=FakeClock(START), rate=0)
    quotes = []
    async for quote in feed.stream():
        quotes.append(quote)
        if len(quotes) == 5:
            break
    generator = SyntheticGenerator(
        [default_model("BTCUSD")],
        seed=9,
        start=START,
        interval=timedelta(milliseconds=1),
    )
    assert quotes == [step[0] for step in itertools.islice(generator.steps(), 5)]


def _resumed(seed: int, point: ResumePoint, steps: int = 50) -> list[QuoteReceived]:
    generator = SyntheticGenerator(
        [default_model("BTCUSD")],
        seed=seed,
        start=START,  # the clock is behind the resume point: time must not go back
        interval=timedelta(milliseconds=250),
        time_scale=60,
        resume={"BTCUSD": point},
    )
    return [step[0] for step in itertools.islice(generator.steps(), steps)]


def test_a_resumed_path_continues_from_its_price_after_its_time() -> None:
    point = ResumePoint(price=Decimal("50000.00"), at=START + timedelta(hours=1))
    quotes = _resumed(7, point)
    first = quotes[0]
    assert first.ts_event == point.at + timedelta(milliseconds=250)
    mid = (first.bid + first.ask) / 2
    assert abs(mid - point.price) / point.price < Decimal("0.005")  # one step, not a jump
    assert all(a.ts_event < b.ts_event for a, b in itertools.pairwise(quotes))


def test_the_same_seed_and_resume_point_give_the_same_path() -> None:
    point = ResumePoint(price=Decimal("50000.00"), at=START + timedelta(hours=1))
    assert _resumed(7, point) == _resumed(7, point)
    assert _resumed(7, point) != _resumed(8, point)


async def test_a_feed_restarted_after_a_failure_goes_on_from_its_last_quote() -> None:
    feed = SyntheticFeed([default_model("BTCUSD")], seed=1, clock=FakeClock(START), rate=0)
    first = await _take(feed.stream(), 500)
    again = await _take(feed.stream(), 1)
    assert again[0].ts_event > first[-1].ts_event
    previous = first[-1].last
    assert previous is not None
    assert abs(again[0].bid - previous) / previous < Decimal("0.005")


async def _take(stream: AsyncGenerator[QuoteReceived, None], count: int) -> list[QuoteReceived]:
    found: list[QuoteReceived] = []
    async for quote in stream:
        found.append(quote)
        if len(found) >= count:
            break
    await stream.aclose()
    return found
