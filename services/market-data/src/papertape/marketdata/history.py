"""A cold start's bar history: the synthetic walk of the hour before the feed began, stored.

A synthetic feed started on an empty bar store has no past, so whoever asks for bars (a bot
session warming its indicators, a chart) would wait for the market to make some. On a cold
start market-data writes ``history_minutes`` of the seeded walk before now into the store (a
quote every five seconds, aggregated like live quotes, each bar marked in or out of its
market's session), and the live feed then continues from the last of those bars, as it does
after a restart. The history is stored only, never published: the streams carry what happens
from now on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from papertape.contract.events.market import BarClosed, Timeframe
from papertape.marketdata.bars import BarAggregator
from papertape.marketdata.feeds.synthetic import SyntheticFeed

STEP = timedelta(seconds=5)  # twelve prices a minute: enough for a bar, quick to make


def synthetic_history(
    feed: SyntheticFeed,
    *,
    end: datetime,
    minutes: int,
    timeframes: list[Timeframe],
    in_session: Callable[[str, datetime], bool],
) -> list[BarClosed]:
    """The closed bars of the walk over the ``minutes`` whole minutes before ``end``; the
    wider bars still open at the last minute are left to the live aggregator to take up."""
    last = end.replace(second=0, microsecond=0)
    aggregator = BarAggregator(timeframes)
    closed: list[BarClosed] = []
    for quotes in feed.generator(last - timedelta(minutes=minutes) - STEP, STEP).steps():
        if quotes[0].ts_event >= last:
            break
        for quote in quotes:
            marked = in_session(quote.symbol, quote.ts_event)
            if marked != quote.in_session:
                quote = msgspec.structs.replace(quote, in_session=marked)
            closed += aggregator.on_quote(quote)
    return closed + aggregator.close_due(last)
