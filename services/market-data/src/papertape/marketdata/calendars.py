"""Trading calendars: crypto 24/7, FX 24/5, US equities on the NYSE's sessions and holidays;
and ``MarketHours``, the one place a tick's time is marked in or out of its market's session."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from papertape.contract.instruments import AssetClass, instrument_for

NEW_YORK = ZoneInfo("America/New_York")
_FX_ROLL = time(17, 0)  # FX weeks open Sunday 17:00 and close Friday 17:00, New York time
_MINUTE = timedelta(minutes=1)


class TradingCalendar(Protocol):
    """Tells whether a market is in session at a moment."""

    def is_open(self, ts: datetime) -> bool: ...


class AlwaysOpen:
    """Crypto: every minute of every day."""

    def is_open(self, ts: datetime) -> bool:
        return True


class FxCalendar:
    """FX 24/5: from Sunday 17:00 to Friday 17:00 New York time."""

    def is_open(self, ts: datetime) -> bool:
        local = ts.astimezone(NEW_YORK)
        weekday = local.weekday()  # Monday 0 … Sunday 6
        if weekday == 5:
            return False
        if weekday == 6:
            return local.time() >= _FX_ROLL
        if weekday == 4:
            return local.time() < _FX_ROLL
        return True


class ExchangeCalendar:
    """An exchange's regular sessions and holidays from ``exchange-calendars`` (XNYS by default).

    The library's schedule is read once into plain (open, close) times per session date, so a
    lookup costs a dict access; outside its range, weekdays 09:30-16:00 New York time count.
    """

    def __init__(self, code: str = "XNYS", start: str = "2000-01-01") -> None:
        # Imported by name: the library ships no type information (and loads pandas).
        library: Any = importlib.import_module("exchange_calendars")
        with warnings.catch_warnings():
            # pandas deprecations raised inside the library are not ours to fix.
            warnings.simplefilter("ignore")
            calendar = library.get_calendar(code, start=start)
            schedule = calendar.schedule
            self.sessions: dict[date, tuple[datetime, datetime]] = {
                session.date(): (opens.to_pydatetime(), closes.to_pydatetime())
                for session, opens, closes in zip(
                    schedule.index, schedule["open"], schedule["close"], strict=True
                )
            }
        self.code = code
        self._first = min(self.sessions)
        self._last = max(self.sessions)

    def is_open(self, ts: datetime) -> bool:
        day = ts.astimezone(NEW_YORK).date()
        if self._first <= day <= self._last:
            hours = self.sessions.get(day)
            return hours is not None and hours[0] <= ts < hours[1]
        local = ts.astimezone(NEW_YORK)
        return local.weekday() < 5 and time(9, 30) <= local.time() < time(16, 0)


@lru_cache(maxsize=1)
def _nyse() -> ExchangeCalendar:
    return ExchangeCalendar("XNYS")


def calendar_for(symbol: str) -> TradingCalendar:
    """The calendar of a symbol's market, from its asset class."""
    asset_class = instrument_for(symbol).asset_class
    if asset_class is AssetClass.CRYPTO:
        return AlwaysOpen()
    if asset_class is AssetClass.FX:
        return FxCalendar()
    return _nyse()


class MarketHours:
    """Whether a symbol's market is open at a moment, asked of its calendar once a minute.

    Sessions change on whole minutes, so each symbol keeps the minute it was last asked about
    and that minute's answer: one entry per symbol, however long the feed runs (the publisher
    asks on every tick, the cold start's history on every step of its walk).
    """

    def __init__(self, calendars: Callable[[str], TradingCalendar] = calendar_for) -> None:
        self._calendars = calendars
        self._calendar_of: dict[str, TradingCalendar] = {}
        self._minute_of: dict[str, tuple[datetime, datetime, bool]] = {}

    def in_session(self, symbol: str, ts: datetime) -> bool:
        known = self._minute_of.get(symbol)
        if known is not None and known[0] <= ts < known[1]:
            return known[2]
        calendar = self._calendar_of.get(symbol)
        if calendar is None:
            calendar = self._calendar_of[symbol] = self._calendars(symbol)
        minute = ts.replace(second=0, microsecond=0)
        is_open = calendar.is_open(ts)
        self._minute_of[symbol] = (minute, minute + _MINUTE, is_open)
        return is_open
