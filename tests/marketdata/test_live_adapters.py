"""Live adapters translate their vendor's recorded responses; no test touches the network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from papertape.common.clock import FakeClock
from papertape.contract.events.market import Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.aggregator import SourceAggregator, TransientSourceError
from papertape.marketdata.bootstrap import build_feed
from papertape.marketdata.feeds.base import (
    SourceUnavailable,
    UnusableVendorValue,
    VendorShapeChanged,
)
from papertape.marketdata.feeds.live.alphavantage import AlphaVantageSource
from papertape.marketdata.feeds.live.ccxt import CcxtSource, market_of
from papertape.marketdata.feeds.live.finnhub import FinnhubSource
from papertape.marketdata.feeds.live.polling import PollingFeed
from papertape.marketdata.feeds.live.twelvedata import TwelveDataSource
from papertape.marketdata.feeds.live.yfinance import YFinanceSource, ticker_of
from papertape.marketdata.metrics import MarketDataMetrics
from papertape.marketdata.settings import MarketDataSettings

RECORDED = Path(__file__).parent / "recorded"
NOW = datetime(2024, 1, 2, 16, 0, tzinfo=UTC)


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def replaying(routes: dict[str, str], status: int = 200) -> httpx.AsyncClient:
    """An httpx client answering each path (or query ``function``) with a recorded file."""

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.params.get("function") or request.url.path
        return httpx.Response(status, json=recorded(routes[key]))

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


class RecordedExchange:
    """Stands in for a ccxt exchange, answering with recorded responses."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def fetch_ticker(self, market: str) -> Any:
        self.calls.append(("fetch_ticker", market))
        return recorded("ccxt_kraken_fetch_ticker_BTC_USD.json")

    async def fetch_ohlcv(self, market: str, timeframe: str, since: int | None = None) -> Any:
        self.calls.append(("fetch_ohlcv", (market, timeframe, since)))
        return recorded("ccxt_kraken_fetch_ohlcv_BTC_USD_1m.json")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWELVEDATA_API_KEY", "FINNHUB_API_KEY", "ALPHAVANTAGE_API_KEY"):
        monkeypatch.setenv(name, "test-key")


async def test_ccxt_ticker_becomes_a_quote_on_the_tick() -> None:
    exchange = RecordedExchange()
    source = CcxtSource("kraken", exchange=exchange, clock=FakeClock(NOW))
    quote = await source.latest_quote(Symbol("BTCUSD"))
    assert exchange.calls == [("fetch_ticker", "BTC/USD")]
    assert (quote.bid, quote.ask, quote.last) == (
        Decimal("45012.30"),
        Decimal("45012.40"),
        Decimal("45012.40"),
    )
    assert quote.bid_size == Decimal("0.412")
    assert quote.ts_event == datetime(2024, 1, 2, 14, 30, 15, 123000, tzinfo=UTC)
    assert quote.source == "ccxt-kraken"


async def test_ccxt_ohlcv_rows_become_closed_bars() -> None:
    source = CcxtSource("kraken", exchange=RecordedExchange(), clock=FakeClock(NOW))
    bars = await source.bars(Symbol("BTCUSD"), Timeframe.M1, None, None)
    assert [b.start.minute for b in bars] == [28, 29, 30]
    assert bars[0].open == Decimal("44990.10")
    assert bars[0].volume == Decimal("3.1401")


def test_ccxt_markets_may_alias_the_quote_currency() -> None:
    assert market_of("BTCUSD") == "BTC/USD"
    assert market_of("ETHUSD", {"USD": "USDT"}) == "ETH/USDT"


async def test_yfinance_info_becomes_a_quote_and_history_becomes_bars() -> None:
    source = YFinanceSource(
        fetch_quote=lambda ticker: recorded(f"yfinance_info_{ticker}.json"),
        fetch_history=lambda ticker, interval, start, end: recorded(
            f"yfinance_history_{ticker}_{interval}.json"
        ),
        clock=FakeClock(NOW),
    )
    quote = await source.latest_quote(Symbol("AAPL"))
    assert (quote.bid, quote.ask, quote.bid_size) == (
        Decimal("185.62"),
        Decimal("185.66"),
        Decimal(300),
    )
    assert quote.ts_event == datetime(2024, 1, 2, 14, 30, 15, tzinfo=UTC)
    bars = await source.bars(Symbol("AAPL"), Timeframe.M1, None, None)
    assert [b.start for b in bars] == [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 14, 31, tzinfo=UTC),
    ]
    assert bars[1].close == Decimal("186.55")


def test_yfinance_tickers_follow_yahoos_conventions() -> None:
    assert [ticker_of(s) for s in ("AAPL", "EURUSD", "BTCUSD")] == ["AAPL", "EURUSD=X", "BTC-USD"]


async def test_yfinance_failures_are_worth_a_retry() -> None:
    def broken(ticker: str) -> dict[str, Any]:
        raise ConnectionError("reset by peer")

    with pytest.raises(TransientSourceError):
        await YFinanceSource(fetch_quote=broken).latest_quote(Symbol("AAPL"))


@pytest.mark.usefixtures("keys")
async def test_twelvedata_quote_and_series_in_utc() -> None:
    client = replaying(
        {
            "/quote": "twelvedata_quote_EUR_USD.json",
            "/time_series": "twelvedata_time_series_AAPL_1min.json",
        }
    )
    source = TwelveDataSource(client=client, clock=FakeClock(NOW))
    quote = await source.latest_quote(Symbol("EURUSD"))
    assert quote.bid == quote.ask == quote.last == Decimal("1.09512")
    bars = await source.bars(Symbol("AAPL"), Timeframe.M1, None, None)
    assert [b.start.minute for b in bars] == [30, 31]  # oldest first, though sent newest first
    assert bars[1].high == Decimal("187.10")


@pytest.mark.usefixtures("keys")
async def test_twelvedata_out_of_credits_is_transient() -> None:
    source = TwelveDataSource(client=replaying({"/quote": "twelvedata_error_429.json"}))
    with pytest.raises(TransientSourceError):
        await source.latest_quote(Symbol("AAPL"))


async def test_a_missing_key_makes_the_source_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINNHUB_API_KEY", raising=False)
    source = FinnhubSource(client=replaying({"/api/v1/quote": "finnhub_quote_AAPL.json"}))
    with pytest.raises(SourceUnavailable, match="FINNHUB_API_KEY"):
        await source.latest_quote(Symbol("AAPL"))


@pytest.mark.usefixtures("keys")
async def test_finnhub_quote_and_candles() -> None:
    client = replaying(
        {
            "/api/v1/quote": "finnhub_quote_AAPL.json",
            "/api/v1/stock/candle": "finnhub_candle_AAPL_1.json",
        }
    )
    source = FinnhubSource(client=client, clock=FakeClock(NOW))
    quote = await source.latest_quote(Symbol("AAPL"))
    assert quote.last == Decimal("185.64")
    assert quote.ts_event == datetime(2024, 1, 2, 14, 30, 15, tzinfo=UTC)
    bars = await source.bars(Symbol("AAPL"), Timeframe.M1, None, None)
    assert [(b.open, b.close) for b in bars] == [
        (Decimal("187.15"), Decimal("187.02")),
        (Decimal("187.02"), Decimal("186.55")),
    ]


@pytest.mark.usefixtures("keys")
async def test_alphavantage_equity_fx_and_intraday() -> None:
    client = replaying(
        {
            "GLOBAL_QUOTE": "alphavantage_global_quote_MSFT.json",
            "CURRENCY_EXCHANGE_RATE": "alphavantage_fx_EUR_USD.json",
            "TIME_SERIES_INTRADAY": "alphavantage_intraday_MSFT_1min.json",
        }
    )
    source = AlphaVantageSource(client=client, clock=FakeClock(NOW))
    equity = await source.latest_quote(Symbol("MSFT"))
    assert equity.last == Decimal("370.87")
    fx = await source.latest_quote(Symbol("EURUSD"))
    assert (fx.bid, fx.ask) == (Decimal("1.09510"), Decimal("1.09514"))
    assert fx.ts_event == datetime(2024, 1, 2, 14, 30, 15, tzinfo=UTC)
    bars = await source.bars(Symbol("MSFT"), Timeframe.M1, None, None)
    assert [b.start for b in bars] == [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 14, 31, tzinfo=UTC),
    ]


@pytest.mark.usefixtures("keys")
async def test_alphavantage_throttling_is_transient() -> None:
    source = AlphaVantageSource(client=replaying({"GLOBAL_QUOTE": "alphavantage_throttled.json"}))
    with pytest.raises(TransientSourceError):
        await source.latest_quote(Symbol("MSFT"))


@pytest.mark.usefixtures("keys")
async def test_a_vendor_that_changed_its_shape_fails_over_to_the_next_source() -> None:
    # Twelve Data renamed "close" to "last_price": the next source (Finnhub) answers instead.
    changed = TwelveDataSource(client=replaying({"/quote": "twelvedata_quote_shape_changed.json"}))
    finnhub = FinnhubSource(
        client=replaying({"/api/v1/quote": "finnhub_quote_AAPL.json"}), clock=FakeClock(NOW)
    )
    metrics = MarketDataMetrics()
    aggregator = SourceAggregator([changed, finnhub], metrics=metrics, backoff_s=0.0)
    quote = await aggregator.latest_quote(Symbol("AAPL"))
    assert (quote.source, quote.last) == ("finnhub", Decimal("185.64"))
    failures = metrics.registry.get_sample_value(
        "papertape_marketdata_source_failures_total",
        {"source": "twelvedata", "reason": "VendorShapeChanged"},
    )
    assert failures == 1


def without(name: str, key: str) -> Any:
    document = recorded(name)
    del document[key]
    return document


class ChangedExchange(RecordedExchange):
    """A ccxt exchange whose ticker lost its ``bid`` and whose candles lost a column."""

    async def fetch_ticker(self, market: str) -> Any:
        return without("ccxt_kraken_fetch_ticker_BTC_USD.json", "bid")

    async def fetch_ohlcv(self, market: str, timeframe: str, since: int | None = None) -> Any:
        return [row[:5] for row in recorded("ccxt_kraken_fetch_ohlcv_BTC_USD_1m.json")]


async def test_ccxt_answers_in_another_shape_are_the_sources_failure() -> None:
    source = CcxtSource("kraken", exchange=ChangedExchange(), clock=FakeClock(NOW))
    with pytest.raises(VendorShapeChanged, match="bid"):
        await source.latest_quote(Symbol("BTCUSD"))
    with pytest.raises(VendorShapeChanged):
        await source.bars(Symbol("BTCUSD"), Timeframe.M1, None, None)


async def test_yfinance_answers_in_another_shape_are_the_sources_failure() -> None:
    def history(ticker: str, interval: str, start: Any, end: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = recorded(f"yfinance_history_{ticker}_{interval}.json")
        del rows[0]["Close"]
        return rows

    source = YFinanceSource(
        fetch_quote=lambda ticker: {"bid": "n/a", "ask": 185.66},
        fetch_history=history,
        clock=FakeClock(NOW),
    )
    with pytest.raises(VendorShapeChanged, match="bid"):
        await source.latest_quote(Symbol("AAPL"))
    with pytest.raises(VendorShapeChanged, match="Close"):
        await source.bars(Symbol("AAPL"), Timeframe.M1, None, None)


@pytest.mark.usefixtures("keys")
async def test_http_vendors_answers_in_another_shape_are_the_sources_failure() -> None:
    def answering(document: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(lambda request: httpx.Response(200, json=document))
        )

    fx = recorded("alphavantage_fx_EUR_USD.json")
    del fx["Realtime Currency Exchange Rate"]["8. Bid Price"]
    candles = recorded("finnhub_candle_AAPL_1.json")
    candles["c"] = candles["c"][:1]  # a column shorter than the others
    with pytest.raises(VendorShapeChanged, match="Bid Price"):
        await AlphaVantageSource(client=answering(fx)).latest_quote(Symbol("EURUSD"))
    with pytest.raises(VendorShapeChanged, match="`c`"):
        await FinnhubSource(client=answering(without("finnhub_quote_AAPL.json", "c"))).latest_quote(
            Symbol("AAPL")
        )
    with pytest.raises(VendorShapeChanged):
        await FinnhubSource(client=answering(candles), clock=FakeClock(NOW)).bars(
            Symbol("AAPL"), Timeframe.M1, None, None
        )
    series = recorded("twelvedata_time_series_AAPL_1min.json")
    series["values"][0]["open"] = None
    with pytest.raises(VendorShapeChanged, match="open"):
        await TwelveDataSource(client=answering(series), clock=FakeClock(NOW)).bars(
            Symbol("AAPL"), Timeframe.M1, None, None
        )


NO_PRICES = ["NaN", "Infinity", "-Infinity", "1e400", 1e308, "-5", "0", "0.0000001"]
"""What a vendor may answer that is no price of AAPL (tick 0.01): before, a 0 was a quote of
0 (an order filled for nothing), the rest an error no source failover caught."""


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("bad", NO_PRICES)
async def test_a_vendors_number_that_is_no_price_is_the_sources_failure(bad: Any) -> None:
    quote = recorded("finnhub_quote_AAPL.json") | {"c": bad}
    series = recorded("twelvedata_time_series_AAPL_1min.json")
    series["values"][0]["low"] = str(bad)
    ticker = recorded("ccxt_kraken_fetch_ticker_BTC_USD.json") | {"bid": bad}

    class Exchange(RecordedExchange):
        async def fetch_ticker(self, market: str) -> Any:
            return ticker

    with pytest.raises(UnusableVendorValue, match="price"):
        await FinnhubSource(client=_answering(quote), clock=FakeClock(NOW)).latest_quote(
            Symbol("AAPL")
        )
    with pytest.raises(UnusableVendorValue, match="price"):
        await TwelveDataSource(client=_answering(series), clock=FakeClock(NOW)).bars(
            Symbol("AAPL"), Timeframe.M1, None, None
        )
    if bad != "0.0000001":  # BTCUSD's tick is finer
        with pytest.raises(UnusableVendorValue, match="price"):
            await CcxtSource("kraken", exchange=Exchange(), clock=FakeClock(NOW)).latest_quote(
                Symbol("BTCUSD")
            )


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-1", "1e400"])
async def test_a_vendors_size_that_is_no_size_is_the_sources_failure(bad: str) -> None:
    rows = recorded("ccxt_kraken_fetch_ohlcv_BTC_USD_1m.json")
    rows[0][5] = bad

    class Exchange(RecordedExchange):
        async def fetch_ohlcv(self, market: str, timeframe: str, since: int | None = None) -> Any:
            return rows

    source = CcxtSource("kraken", exchange=Exchange(), clock=FakeClock(NOW))
    with pytest.raises(UnusableVendorValue, match="size"):
        await source.bars(Symbol("BTCUSD"), Timeframe.M1, None, None)


@pytest.mark.usefixtures("keys")
async def test_a_price_of_zero_fails_over_to_the_next_source() -> None:
    zero = recorded("finnhub_quote_AAPL.json") | {"c": 0, "h": 0, "l": 0, "o": 0, "pc": 0}
    metrics = MarketDataMetrics()
    aggregator = SourceAggregator(
        [
            FinnhubSource(client=_answering(zero), clock=FakeClock(NOW)),
            FinnhubSource(
                client=_answering(recorded("finnhub_quote_AAPL.json")), clock=FakeClock(NOW)
            ),
        ],
        metrics=metrics,
        backoff_s=0.0,
    )
    quote = await aggregator.latest_quote(Symbol("AAPL"))
    assert quote.last == Decimal("185.64")
    failures = metrics.registry.get_sample_value(
        "papertape_marketdata_source_failures_total",
        {"source": "finnhub", "reason": "UnusableVendorValue"},
    )
    assert failures == 1


def _answering(document: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=document))
    )


async def test_a_ccxt_source_configured_in_the_service_builds_its_exchange_client() -> None:
    settings = MarketDataSettings(feed="live", live_sources="ccxt,yfinance", symbols="BTCUSD")
    metrics = MarketDataMetrics()
    feed = build_feed(settings, FakeClock(NOW), metrics)
    assert isinstance(feed, PollingFeed)
    aggregator = feed.source
    assert isinstance(aggregator, SourceAggregator)
    ccxt_source = aggregator.sources[0]
    assert isinstance(ccxt_source, CcxtSource)
    exchange = ccxt_source.client()  # ccxt comes with the service: no "ccxt is not installed"
    try:
        assert type(exchange).__module__.startswith("ccxt.async_support")
        assert exchange.id == "kraken"
        # No network: the exchange answers from the recorded response.
        recorded_exchange = RecordedExchange()
        exchange.fetch_ticker = recorded_exchange.fetch_ticker
        quote = await aggregator.latest_quote(Symbol("BTCUSD"))
        assert (quote.source, quote.bid) == ("ccxt-kraken", Decimal("45012.30"))
    finally:
        await exchange.close()
