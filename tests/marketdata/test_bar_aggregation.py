"""Bars from quotes, trades and smaller bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.bars import BarAggregator, bar_start
from papertape.marketdata.feeds.base import Trade

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def quote(
    seconds: float, last: str | None, volume: str = "1", symbol: str = "AAPL"
) -> QuoteReceived:
    ts = T0 + timedelta(seconds=seconds)
    price = Decimal(last or "100.00")
    return QuoteReceived(
        symbol=Symbol(symbol),
        bid=price - Decimal("0.01"),
        ask=price + Decimal("0.01"),
        last=Decimal(last) if last else None,
        volume=Decimal(volume),
        ts_event=ts,
        ts_init=ts,
        source="test",
    )


def test_bar_start_aligns_on_the_utc_epoch() -> None:
    ts = datetime(2024, 1, 2, 14, 37, 42, tzinfo=UTC)
    assert bar_start(ts, Timeframe.M1) == datetime(2024, 1, 2, 14, 37, tzinfo=UTC)
    assert bar_start(ts, Timeframe.M15) == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert bar_start(ts, Timeframe.D1) == datetime(2024, 1, 2, tzinfo=UTC)


def test_a_minute_bar_closes_when_a_quote_of_the_next_minute_arrives() -> None:
    bars = BarAggregator([Timeframe.M1])
    for seconds, last in ((1, "100.00"), (10, "101.50"), (20, "99.25"), (59, "100.75")):
        assert bars.on_quote(quote(seconds, last, volume="2")) == []
    [closed] = bars.on_quote(quote(61, "102.00"))
    assert closed == BarClosed(
        symbol=Symbol("AAPL"),
        timeframe=Timeframe.M1,
        open=Decimal("100.00"),
        high=Decimal("101.50"),
        low=Decimal("99.25"),
        close=Decimal("100.75"),
        volume=Decimal(8),
        start=T0,
        end=T0 + timedelta(minutes=1),
        source="test",
        in_session=True,
    )


def test_a_quote_without_a_last_trade_counts_at_its_mid_on_the_tick() -> None:
    bars = BarAggregator([Timeframe.M1])
    bars.on_quote(quote(1, None))
    [closed] = bars.close_due(T0 + timedelta(minutes=1))
    assert closed.open == closed.close == Decimal("100.00")


def test_close_due_closes_only_bars_whose_interval_has_ended() -> None:
    bars = BarAggregator([Timeframe.M1, Timeframe.M5])
    bars.on_quote(quote(1, "100.00"))
    assert bars.close_due(T0 + timedelta(seconds=59)) == []
    assert [b.timeframe for b in bars.close_due(T0 + timedelta(minutes=1))] == [Timeframe.M1]
    assert [b.timeframe for b in bars.close_due(T0 + timedelta(minutes=5))] == [Timeframe.M5]


def test_a_late_tick_is_ignored_and_counted() -> None:
    bars = BarAggregator([Timeframe.M1])
    bars.on_quote(quote(70, "100.00"))
    assert bars.on_quote(quote(30, "50.00")) == []
    assert bars.late_ticks == 1
    [closed] = bars.close_due(T0 + timedelta(minutes=2))
    assert closed.low == Decimal("100.00")


def test_trades_build_bars_with_their_sizes() -> None:
    bars = BarAggregator([Timeframe.M1])
    for seconds, price, size in ((5, "10.0", "3"), (6, "11.0", "4")):
        ts = T0 + timedelta(seconds=seconds)
        trade = Trade(
            symbol=Symbol("BTCUSD"),
            price=Decimal(price),
            size=Decimal(size),
            ts_event=ts,
            source="test",
        )
        bars.on_trade(trade)
    [closed] = bars.close_due(T0 + timedelta(minutes=1))
    assert (closed.open, closed.close, closed.volume) == (
        Decimal("10.0"),
        Decimal("11.0"),
        Decimal(7),
    )


def test_five_minute_bars_roll_up_from_one_minute_bars() -> None:
    bars = BarAggregator([Timeframe.M5, Timeframe.M15])
    closed: list[BarClosed] = []
    for minute in range(5):
        start = T0 + timedelta(minutes=minute)
        closed += bars.on_bar(
            BarClosed(
                symbol=Symbol("SPY"),
                timeframe=Timeframe.M1,
                open=Decimal(100 + minute),
                high=Decimal(110 + minute),
                low=Decimal(90 - minute),
                close=Decimal(101 + minute),
                volume=Decimal(10),
                start=start,
                end=start + timedelta(minutes=1),
                source="test",
            )
        )
    [five] = closed
    assert (five.timeframe, five.open, five.high, five.low, five.close, five.volume) == (
        Timeframe.M5,
        Decimal(100),
        Decimal(114),
        Decimal(86),
        Decimal(105),
        Decimal(50),
    )
    assert five.start == T0
    assert five.end == T0 + timedelta(minutes=5)


def test_symbols_are_aggregated_apart() -> None:
    bars = BarAggregator([Timeframe.M1])
    bars.on_quote(quote(1, "100.00", symbol="AAPL"))
    bars.on_quote(quote(2, "300.00", symbol="MSFT"))
    closed = bars.close_due(T0 + timedelta(minutes=1))
    assert sorted((b.symbol, b.close) for b in closed) == [
        ("AAPL", Decimal(100)),
        ("MSFT", Decimal(300)),
    ]


def test_wider_bars_are_rolled_up_from_the_minute_bars_quotes_build() -> None:
    bars = BarAggregator([Timeframe.M1, Timeframe.M5])
    closed: list[BarClosed] = []
    for second in range(0, 5 * 60 + 1, 30):  # 09:30:00 to 09:35:00, a quote every 30 s
        closed += bars.on_quote(quote(second, f"{100 + second / 100:.2f}"))
    minutes = [b for b in closed if b.timeframe is Timeframe.M1]
    [five] = [b for b in closed if b.timeframe is Timeframe.M5]
    assert len(minutes) == 5
    assert (five.open, five.high, five.low, five.close) == (
        minutes[0].open,
        max(b.high for b in minutes),
        min(b.low for b in minutes),
        minutes[-1].close,
    )
    assert five.volume == sum(b.volume for b in minutes)
