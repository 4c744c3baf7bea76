"""A backtest on the quotes a paper session's replay published, not on the bars alone.

A paper venue fills a market order at the first quote after the order arrives; on bars alone
a backtest can only fill it at the next bar's open. Given the quotes the bars were built from,
the backtest's venue matches the quotes instead (a venue with quotes for a symbol passes over
its bars, live and here) and the session still evaluates the bars. Each bar's quotes (those
before its end) go to the venue before the bar closes; an order placed on the bar, at its end,
fills at the first quote at or after that end: the next bar's first quote. A replay that
publishes a bar before the quote that closed it and gives orders time to reach the venue
(market-data's ``bar_settle_s``) fills a paper order at that same quote, so the two runs see
the same market and fill at the same price and time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.trading.backtest.engine import Backtest


def quote_cause(quote: QuoteReceived) -> str:
    """The causation id of what a quote led to (the same in a backtest and a what-if)."""
    return f"quote:{quote.symbol}:{quote.ts_event.isoformat()}"


def run_on_quotes(
    engine: Backtest, bars: Iterable[BarClosed], quotes: Iterable[QuoteReceived]
) -> None:
    """Feed the bars (in time order) and the quotes (in time order) to ``engine``: every quote
    before a bar's end reaches the venue before the bar; quotes before the first bar do not
    (there is no account yet), quotes after the last one do."""
    pending: Iterator[QuoteReceived] = iter(quotes)
    waiting = next(pending, None)
    desk = engine.desk
    for bar in bars:
        if not engine.bars:
            engine.start(bar)
            while waiting is not None and waiting.ts_event < bar.start:
                waiting = next(pending, None)
        while waiting is not None and waiting.ts_event < bar.end:
            desk.quote(waiting, quote_cause(waiting))
            waiting = next(pending, None)
        engine.on_bar(bar)
    if not engine.bars:
        return
    while waiting is not None:
        desk.quote(waiting, quote_cause(waiting))
        waiting = next(pending, None)
