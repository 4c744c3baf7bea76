"""A new session warms its strategies up from the market's bar history, and keeps it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from papertape.common.clock import FakeClock
from papertape.common.eventlog import InMemoryEventLog
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.sessions import (
    RiskOverrides,
    SessionCommand,
    SessionWarmedUp,
    StartSession,
)
from papertape.contract.events.signals import Decision, SignalGenerated
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.signals.book import SessionBook
from papertape.signals.handlers import Pipeline
from papertape.signals.market import MarketGateway
from papertape.trading.strategies.bots import Bot
from papertape.trading.strategies.sessions import decide, warmed_up
from papertape.trading.strategies.sizing import AccountRoom
from tests.trading.strategies.bars import T0, bars

HISTORY = [100.0] * 25  # a quiet half hour before the session starts
LIVE = [101.0 + i for i in range(5)]  # then a breakout
NOW = T0 + timedelta(minutes=len(HISTORY), seconds=5)


class StoredBars:
    """market-data standing in: the bars it has stored, as ``GetBars`` answers them."""

    def __init__(self, stored: list[BarClosed]) -> None:
        self.stored = stored
        self.asked = 0

    async def bars(
        self, symbol: str, timeframe: Timeframe, end: datetime, limit: int
    ) -> tuple[BarClosed, ...]:
        self.asked += 1
        found = [b for b in self.stored if b.symbol == symbol and b.start < end]
        return tuple(found[-limit:])


async def started(stored: list[BarClosed]) -> tuple[Pipeline, InMemoryEventLog, StoredBars]:
    log = InMemoryEventLog()
    clock = FakeClock(NOW)
    book = SessionBook(log, clock, horizon=5, history=10_000)
    market = StoredBars(stored)
    pipeline = Pipeline(book, clock)
    pipeline.market = cast(MarketGateway, market)
    pipeline.rooms["acc"] = AccountRoom(equity=Decimal(100_000), buying_power=Decimal(100_000))
    command: Request[SessionCommand] = Request(
        request_id="start",
        issued_at=NOW,
        actor=Actor("test"),
        body=StartSession(
            session_id="bot",
            account_id=AccountId("acc"),
            strategy="donchian_breakout",
            parameters={"period": 10, "exit_period": 5},
            symbols=(Symbol("AAPL"), Symbol("MSFT")),
            overrides=RiskOverrides(min_confidence=0),
        ),
    )
    bot, _ = await book.execute(command)
    await pipeline.start_warm_up(bot)
    return pipeline, log, market


async def test_the_first_live_bar_after_a_warm_up_trades_instead_of_warming_up() -> None:
    pipeline, log, _ = await started(bars(HISTORY, symbol="AAPL"))
    bot = pipeline.book.bots["bot"]
    assert bot.state.warmed == {"AAPL": len(HISTORY)}  # MSFT has no history: warms up live

    recorded = await pipeline.on_bar(encode(bars(LIVE, symbol="AAPL", first=len(HISTORY))[0]))

    [signal] = [e for e in recorded if isinstance(e, SignalGenerated)]
    assert signal.decision is Decision.BUY  # the channel was ready: no SKIP while warming up
    warm = [r for r in log._events if r.type == "session_warmed_up"]
    assert len(warm) == 1


async def test_history_bars_delivered_live_again_evaluate_nothing() -> None:
    history = bars(HISTORY, symbol="AAPL")
    pipeline, _log, _ = await started(history)

    recorded = await pipeline.on_bars([encode(b) for b in history[-3:]])

    assert recorded == []


async def test_a_rebuilt_session_is_warmed_up_as_the_one_that_lived() -> None:
    pipeline, log, _ = await started(bars(HISTORY, symbol="AAPL"))
    live = [encode(b) for b in bars(LIVE, symbol="AAPL", first=len(HISTORY))]
    await pipeline.on_bars(live[:2])

    rebuilt = await SessionBook(log, FakeClock(NOW), horizon=5, history=100).load("bot")
    lived = pipeline.book.bots["bot"]
    assert rebuilt.state == lived.state
    following = bars(LIVE, symbol="AAPL", first=len(HISTORY))[2]
    assert rebuilt.strategy("AAPL").on_bar(following) == lived.strategy("AAPL").on_bar(following)


async def test_a_session_without_history_asks_again_on_the_clock_until_it_comes() -> None:
    pipeline, _log, market = await started([])
    bot = pipeline.book.bots["bot"]
    assert bot.state.warmed == {}

    market.stored = bars(HISTORY, symbol="AAPL") + bars(HISTORY, symbol="MSFT")
    await pipeline.on_clock()

    assert bot.state.warmed == {"AAPL": len(HISTORY), "MSFT": len(HISTORY)}
    asked = market.asked
    await pipeline.on_clock()
    assert market.asked == asked  # warm: nothing asked any more


def test_a_warm_up_after_a_live_bar_is_not_recorded() -> None:
    bot = Bot()
    start = StartSession(
        session_id="bot",
        account_id=AccountId("acc"),
        strategy="donchian_breakout",
        symbols=(Symbol("AAPL"),),
    )
    bot.apply(decide(start, bot.state, T0))
    history = bars(HISTORY, symbol="AAPL")
    bot.on_bar(history[-1], None, NOW)

    assert warmed_up(bot.state, "AAPL", history, NOW) == []
    assert warmed_up(bot.state, "MSFT", history, NOW) == []  # not the session's
    assert warmed_up(Bot().state, "AAPL", history, NOW) == []  # a session never started
    fresh = Bot()
    fresh.apply(decide(start, fresh.state, T0))
    [warm] = warmed_up(fresh.state, "AAPL", [*history, *history], NOW)
    assert isinstance(warm, SessionWarmedUp)
    assert [b.start for b in warm.bars] == [b.start for b in history]  # once each, in order
