"""The synthetic source: a seeded geometric Brownian motion per symbol, with spread and volume.

The same seed, models, start and interval give the same quotes, byte for byte. Each symbol has
its own generator (seeded with ``"<seed>:<symbol>"``), so adding a symbol changes no other.

A feed that starts again continues where it stopped: from a ``ResumePoint`` per symbol (the last
stored bar's close and end, or the feed's own last quote), the walk starts at that price and the
grid after that time, so prices never jump and time never goes back. A resumed walk is seeded
with ``"<seed>:<symbol>:<resume time>"``: the same seed and resume point give the same path.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec

from papertape.common.clock import Clock
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.instruments import AssetClass, Instrument, instrument_for

SOURCE = "synthetic"
_SECONDS_PER_YEAR = 365.0 * 86400.0


class Regime(msgspec.Struct, frozen=True, kw_only=True):
    """A market state: annualized drift and volatility."""

    drift: float
    volatility: float


class SymbolModel(msgspec.Struct, frozen=True, kw_only=True):
    """How one symbol's price moves; ``regimes`` are entered at random, with a probability."""

    instrument: Instrument
    start_price: Decimal
    drift: float = 0.0
    volatility: float = 0.3
    spread_bps: float = 2.0
    mean_volume: float = 100.0
    regimes: tuple[Regime, ...] = ()
    regime_switch_probability: float = 0.0


_START_PRICES = {
    "AAPL": "190.00",
    "MSFT": "410.00",
    "SPY": "480.00",
    "EURUSD": "1.08500",
    "GBPUSD": "1.27000",
    "USDJPY": "148.500",
    "BTCUSD": "43000.00",
    "ETHUSD": "2300.00",
    "DOGEUSD": "0.08130",
    "SHIBUSDT": "0.00000812",
}
_CLASS_DEFAULTS: dict[AssetClass, tuple[float, float, float]] = {
    # volatility, spread in bps, mean volume per quote
    AssetClass.EQUITY: (0.25, 1.0, 200.0),
    AssetClass.FX: (0.08, 0.5, 100000.0),
    AssetClass.CRYPTO: (0.60, 2.0, 0.5),
}


def default_model(symbol: str) -> SymbolModel:
    """A plausible model for a symbol: its asset class's volatility, spread and volume."""
    instrument = instrument_for(symbol)
    volatility, spread_bps, volume = _CLASS_DEFAULTS[instrument.asset_class]
    return SymbolModel(
        instrument=instrument,
        start_price=Decimal(_START_PRICES.get(symbol, "100.00")),
        volatility=volatility,
        spread_bps=spread_bps,
        mean_volume=volume,
        regimes=(
            Regime(drift=0.0, volatility=volatility),
            Regime(drift=0.0, volatility=volatility * 3),
        ),
        regime_switch_probability=0.001,
    )


class ResumePoint(msgspec.Struct, frozen=True, kw_only=True):
    """Where a symbol's path stopped: its last price and the time it was seen."""

    price: Decimal
    at: datetime

    @classmethod
    def after_bar(cls, bar: BarClosed) -> ResumePoint:
        """The path continues from a stored bar's close, after its end."""
        return cls(price=bar.close, at=bar.end)

    @classmethod
    def after_quote(cls, quote: QuoteReceived) -> ResumePoint:
        """The path continues from a quote's price (its last, else its mid), after its time."""
        price = quote.last if quote.last is not None else (quote.bid + quote.ask) / 2
        return cls(price=price, at=quote.ts_event)


class _Walk:
    """One symbol's random walk."""

    def __init__(
        self, model: SymbolModel, seed: int, dt_years: float, resume: ResumePoint | None = None
    ) -> None:
        self.model = model
        symbol = model.instrument.symbol
        if resume is None:
            self.rng = random.Random(f"{seed}:{symbol}")
            self.mid = float(model.start_price)
        else:
            self.rng = random.Random(f"{seed}:{symbol}:{resume.at.isoformat()}")
            self.mid = float(resume.price)
        self.drift = model.drift
        self.volatility = model.volatility
        self.dt = dt_years

    def step(self, ts: datetime, source: str) -> QuoteReceived:
        model, rng, inst = self.model, self.rng, self.model.instrument
        if model.regimes and rng.random() < model.regime_switch_probability:
            regime = model.regimes[rng.randrange(len(model.regimes))]
            self.drift, self.volatility = regime.drift, regime.volatility
        shock = rng.gauss(0.0, 1.0)
        growth = (self.drift - 0.5 * self.volatility**2) * self.dt
        self.mid *= math.exp(growth + self.volatility * math.sqrt(self.dt) * shock)
        mid = Decimal(repr(self.mid))
        half = max(inst.tick_size, mid * Decimal(repr(model.spread_bps)) / 10000) / 2
        bid = inst.price(mid - half)
        ask = inst.price(mid + half)
        if ask <= bid:
            ask = bid + inst.tick_size
        volume = inst.quantity(Decimal(repr(rng.expovariate(1.0 / model.mean_volume))))
        last = ask if rng.random() < 0.5 else bid
        return QuoteReceived(
            symbol=inst.symbol,
            bid=bid,
            ask=ask,
            bid_size=inst.quantity(Decimal(repr(rng.uniform(1, 10) * model.mean_volume))),
            ask_size=inst.quantity(Decimal(repr(rng.uniform(1, 10) * model.mean_volume))),
            last=last,
            volume=volume,
            ts_event=ts,
            ts_init=ts,
            source=source,
        )


class SyntheticGenerator:
    """Deterministic quotes: one per symbol every ``interval``, from ``start`` on."""

    def __init__(
        self,
        models: Sequence[SymbolModel],
        *,
        seed: int,
        start: datetime,
        interval: timedelta,
        time_scale: float = 1.0,
        source: str = SOURCE,
        resume: Mapping[str, ResumePoint] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        dt_years = interval.total_seconds() * time_scale / _SECONDS_PER_YEAR
        points = resume or {}
        self._walks = [
            _Walk(model, seed, dt_years, points.get(model.instrument.symbol)) for model in models
        ]
        # The grid starts after every point resumed from: no symbol's time goes back.
        self.start = max([start, *(point.at for point in points.values())])
        self.interval = interval
        self.source = source

    def steps(self) -> Iterator[list[QuoteReceived]]:
        """Each step's quotes (one per symbol, same timestamp), forever."""
        index = 0
        while True:
            index += 1
            ts = self.start + self.interval * index
            yield [walk.step(ts, self.source) for walk in self._walks]


class SyntheticFeed:
    """The generator paced to the wall clock (``rate`` quotes/s per symbol; 0: no pacing)."""

    def __init__(
        self,
        models: Sequence[SymbolModel],
        *,
        seed: int,
        clock: Clock,
        rate: float,
        time_scale: float = 1.0,
        name: str = SOURCE,
    ) -> None:
        self.name = name
        self._models = tuple(models)
        self._seed = seed
        self._clock = clock
        self._rate = rate
        self._time_scale = time_scale
        self._resume: dict[str, ResumePoint] = {}

    def generator(self, start: datetime, interval: timedelta) -> SyntheticGenerator:
        """The feed's walk (its models, seed and time scale) on a grid of its own, from a cold
        start: what ``history`` replays of the time before the feed began."""
        return SyntheticGenerator(
            self._models,
            seed=self._seed,
            start=start,
            interval=interval,
            time_scale=self._time_scale,
            source=self.name,
        )

    def resume_after(self, bars: Iterable[BarClosed]) -> None:
        """Continue each bar's symbol from the bar's close, after its end (the bar store's
        last bars, on start)."""
        for bar in bars:
            self._resume[bar.symbol] = ResumePoint.after_bar(bar)

    async def stream(self) -> AsyncGenerator[QuoteReceived, None]:
        """Quotes timestamped on a grid from now, each released when its time has come."""
        interval = (
            timedelta(seconds=1.0 / self._rate) if self._rate > 0 else timedelta(milliseconds=1)
        )
        now = self._clock.now()
        start = now.replace(microsecond=now.microsecond // 1000 * 1000)
        generator = SyntheticGenerator(
            self._models,
            seed=self._seed,
            start=start,
            interval=interval,
            time_scale=self._time_scale,
            source=self.name,
            resume=self._resume,
        )
        loop = asyncio.get_running_loop()
        began = loop.time()
        for index, quotes in enumerate(generator.steps(), start=1):
            if self._rate > 0:
                delay = began + index * interval.total_seconds() - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif index % 256 == 0:
                await asyncio.sleep(0)  # let the publisher breathe when unpaced
            for quote in quotes:
                # A stream restarted after a failure goes on from here, not from the start.
                self._resume[quote.symbol] = ResumePoint.after_quote(quote)
                yield quote
