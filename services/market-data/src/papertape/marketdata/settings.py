"""The market-data service's settings, read from the environment once (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

from papertape.common.settings import CommonSettings, load_settings
from papertape.contract.events.market import Timeframe

DEFAULT_SYMBOLS = "AAPL,MSFT,SPY,EURUSD,USDJPY,BTCUSD,ETHUSD"


class MarketDataSettings(CommonSettings, frozen=True, kw_only=True):
    """Which feed runs, for which symbols, and how fast."""

    metrics_port: int = 9102
    feed: str = "synthetic"
    """``synthetic``, ``replay`` or ``live``."""
    symbols: str = DEFAULT_SYMBOLS
    """Comma-separated symbols (synthetic and live feeds)."""
    seed: int = 42
    quote_rate: float = 4.0
    """Synthetic quotes per second per symbol (0: as fast as possible)."""
    time_scale: float = 60.0
    """Synthetic market seconds per wall second: prices move like a minute every second."""
    replay_path: str = ""
    replay_kind: str = "auto"
    """``quotes``, ``bars`` or ``auto`` (from the file's columns)."""
    replay_speed: float = 0.0
    """Replay speed multiplier (1: real time; 0: as fast as possible)."""
    replay_from: str = ""
    replay_to: str = ""
    live_sources: str = "ccxt,yfinance,twelvedata,finnhub,alphavantage"
    """Live sources in priority order (first that answers wins)."""
    poll_interval_s: float = 2.0
    timeframes: str = "1m,5m,15m,1h,1d"
    store_bars: bool = True
    bar_close_grace_s: float = 0.25
    """Bars close this long after their end on the wall clock (late ticks still count)."""

    def symbol_list(self) -> list[str]:
        return [s.strip() for s in self.symbols.split(",") if s.strip()]

    def timeframe_list(self) -> list[Timeframe]:
        return [Timeframe(t.strip()) for t in self.timeframes.split(",") if t.strip()]

    def source_list(self) -> list[str]:
        return [s.strip() for s in self.live_sources.split(",") if s.strip()]


def read_settings() -> MarketDataSettings:
    """The settings from the environment."""
    return load_settings(MarketDataSettings)
