"""Trading calendars: crypto 24/7, FX 24/5, NYSE hours and holidays; market hours asked of
them once a minute, one entry per symbol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from papertape.marketdata.calendars import (
    AlwaysOpen,
    ExchangeCalendar,
    FxCalendar,
    MarketHours,
    TradingCalendar,
    calendar_for,
)


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_crypto_trades_on_a_saturday_night() -> None:
    assert calendar_for("BTCUSD").is_open(utc(2024, 1, 6, 23, 0))
    assert isinstance(calendar_for("ETHUSD"), AlwaysOpen)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (utc(2024, 1, 6, 12, 0), False),  # Saturday
        (utc(2024, 1, 7, 21, 59), False),  # Sunday 16:59 New York
        (utc(2024, 1, 7, 22, 0), True),  # Sunday 17:00 New York: the week opens
        (utc(2024, 1, 10, 3, 0), True),  # Wednesday night
        (utc(2024, 1, 12, 21, 59), True),  # Friday 16:59 New York
        (utc(2024, 1, 12, 22, 0), False),  # Friday 17:00 New York: the week closes
    ],
)
def test_fx_trades_from_sunday_evening_to_friday_evening_new_york_time(
    moment: datetime, open_: bool
) -> None:
    assert FxCalendar().is_open(moment) is open_
    assert calendar_for("EURUSD").is_open(moment) is open_


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (utc(2024, 1, 2, 14, 29), False),  # 09:29 New York
        (utc(2024, 1, 2, 14, 30), True),  # 09:30: the opening bell
        (utc(2024, 1, 2, 20, 59, 59), True),  # 15:59:59
        (utc(2024, 1, 2, 21, 0), False),  # 16:00: closed
        (utc(2024, 7, 4, 15, 0), False),  # Independence Day
        (utc(2024, 12, 25, 15, 0), False),  # Christmas
        (utc(2024, 1, 6, 15, 0), False),  # Saturday
    ],
)
def test_us_equities_trade_regular_hours_except_holidays(moment: datetime, open_: bool) -> None:
    assert calendar_for("AAPL").is_open(moment) is open_


def test_nyse_closes_early_the_day_after_thanksgiving() -> None:
    calendar = ExchangeCalendar("XNYS")
    assert calendar.is_open(utc(2024, 11, 29, 17, 59))  # 12:59 New York
    assert not calendar.is_open(utc(2024, 11, 29, 18, 0))  # 13:00: early close


class _Counted:
    """A calendar that counts what it is asked."""

    def __init__(self, calendar: TradingCalendar) -> None:
        self.calendar, self.asked = calendar, 0

    def is_open(self, ts: datetime) -> bool:
        self.asked += 1
        return self.calendar.is_open(ts)


def test_market_hours_ask_the_calendar_once_a_minute_and_keep_one_minute_per_symbol() -> None:
    counted = {s: _Counted(calendar_for(s)) for s in ("AAPL", "EURUSD")}
    hours = MarketHours(counted.__getitem__)
    start = utc(2024, 1, 2, 14, 0)  # a Tuesday, 09:00 New York: the NYSE opens at 09:30
    seconds = range(0, 2 * 3600, 5)  # two hours of ticks, every five seconds
    answers = [hours.in_session("AAPL", start + timedelta(seconds=s)) for s in seconds]
    for s in seconds:
        hours.in_session("EURUSD", start + timedelta(seconds=s))
    assert answers == [calendar_for("AAPL").is_open(start + timedelta(seconds=s)) for s in seconds]
    assert answers.index(True) == 30 * 12  # 09:30:00 sharp, not a tick late
    assert (counted["AAPL"].asked, counted["EURUSD"].asked) == (120, 120)
    assert len(hours._minute_of) == 2  # the bound: one minute per symbol
