"""The market-data service's settings, read from the environment once (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, Rate, load_settings
from papertape.contract.bounds import Seed
from papertape.contract.events.market import Timeframe

DEFAULT_SYMBOLS = "AAPL,MSFT,SPY,EURUSD,GBPUSD,USDJPY,BTCUSD,ETHUSD"
_TIMEFRAME = "|".join(t.value for t in Timeframe)
_TIMEFRAMES = rf"^\s*({_TIMEFRAME})\s*(,\s*({_TIMEFRAME})\s*)*$"


class MarketDataSettings(CommonSettings, frozen=True, kw_only=True):
    """Which feed runs, for which symbols, and how fast."""

    metrics_port: Port = 9102
    database_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = "papertape_bars"
    """The bar store's own role: bars only, no access to the event log ("" for the login)."""
    feed: Literal["synthetic", "replay", "live"] = "synthetic"
    """``synthetic``, ``replay`` or ``live``."""
    symbols: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_/\-]+(,\s*[A-Za-z0-9_/\-]+)*$")] = (
        DEFAULT_SYMBOLS
    )
    """Comma-separated symbols (synthetic and live feeds)."""
    seed: Seed = 42
    quote_rate: Rate = 4.0
    """Synthetic quotes per second per symbol (0: as fast as possible)."""
    time_scale: Annotated[float, msgspec.Meta(gt=0, le=1e9)] = 60.0
    """Synthetic market seconds per wall second: prices move like a minute every second."""
    replay_path: str = ""
    replay_kind: Literal["quotes", "bars", "auto"] = "auto"
    """``quotes``, ``bars`` or ``auto`` (from the file's columns)."""
    replay_speed: Rate = 0.0
    """Replay speed multiplier (1: real time; 0: as fast as possible)."""
    replay_from: str = ""
    replay_to: str = ""
    live_sources: str = "ccxt,yfinance,twelvedata,finnhub,alphavantage"
    """Live sources in priority order (first that answers wins)."""
    poll_interval_s: Interval = 2.0
    timeframes: Annotated[str, msgspec.Meta(pattern=_TIMEFRAMES)] = "1m,5m,15m,1h,1d"
    store_bars: bool = True
    history_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_080)] = 0
    """A synthetic feed on an empty bar store first stores this much of its walk before now
    (``make run``: 60, so bot sessions warm up at once); 0: none."""
    bar_close_grace_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.25
    """Bars close this long after their end on the wall clock (late ticks still count)."""
    bar_settle_s: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.0
    """After the bars a quote closes are published, that quote waits this long, so orders
    placed on those bars reach the venue before the next bar's first quote (a replay that is
    compared with a backtest given the same quotes: ``papertape compare --quotes``); 0: none."""

    def symbol_list(self) -> list[str]:
        return [s.strip() for s in self.symbols.split(",") if s.strip()]

    def timeframe_list(self) -> list[Timeframe]:
        return [Timeframe(t.strip()) for t in self.timeframes.split(",") if t.strip()]

    def source_list(self) -> list[str]:
        return [s.strip() for s in self.live_sources.split(",") if s.strip()]


def read_settings() -> MarketDataSettings:
    """The settings from the environment."""
    return load_settings(MarketDataSettings)
