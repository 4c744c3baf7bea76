"""The session book: which sessions a bar goes to as sessions start, end and are rebuilt, and
the bounded history the queries read (on the in-memory log)."""

from __future__ import annotations

from decimal import Decimal

from papertape.common.clock import FakeClock
from papertape.common.eventlog import InMemoryEventLog
from papertape.common.testing.examples import example_of
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import Timeframe
from papertape.contract.events.sessions import SessionCommand, StartSession, StopSession
from papertape.contract.events.signals import SignalOutcomeRecorded
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.signals.book import SessionBook, SignalHistory
from tests.trading.strategies.bars import T0, bar

_requests = iter(range(1_000_000))


def _request(body: SessionCommand) -> Request[SessionCommand]:
    return Request(request_id=f"r-{next(_requests)}", issued_at=T0, actor=Actor("t"), body=body)


def _start(session_id: str, *symbols: str, timeframe: Timeframe = Timeframe.M1) -> StartSession:
    return StartSession(
        session_id=session_id,
        account_id=AccountId("acc"),
        strategy="ma_crossover",
        symbols=tuple(Symbol(s) for s in symbols),
        timeframe=timeframe,
    )


def _trading(book: SessionBook, symbol: str) -> set[str]:
    return {b.state.session_id for b in book.for_bar(bar(100.0, 0, symbol=symbol))}


async def test_a_bar_goes_to_the_running_sessions_of_its_symbol_and_timeframe_once_each() -> None:
    log = InMemoryEventLog()
    book = SessionBook(log, FakeClock(T0), horizon=5, history=100)
    for i in range(30):
        await book.execute(_request(_start(f"bot-{i}", "AAPL", "MSFT" if i % 2 else "AAPL")))
    await book.execute(_request(_start("five", "AAPL", timeframe=Timeframe.M5)))
    for i in range(0, 30, 3):
        await book.execute(_request(StopSession(session_id=f"bot-{i}")))
    await book.load("bot-1")  # rebuilt from its stream: filed again, not twice

    running = {f"bot-{i}" for i in range(30) if i % 3}
    assert _trading(book, "AAPL") == running
    assert _trading(book, "MSFT") == {s for s in running if int(s[4:]) % 2}
    assert len(book.for_bar(bar(100.0, 0))) == len(running)
    assert _trading(book, "BTCUSD") == set()

    rebuilt = SessionBook(log, FakeClock(T0), horizon=5, history=100)
    assert await rebuilt.load_all() == (31, 31 + 10)  # 31 starts, 10 stops
    assert _trading(rebuilt, "AAPL") == running
    assert _trading(rebuilt, "MSFT") == _trading(book, "MSFT")


def test_the_history_keeps_the_latest_outcomes_up_to_its_size() -> None:
    history = SignalHistory(size=3)
    outcomes = [
        example_of(SignalOutcomeRecorded, {"signal_id": f"s-{i}", "exit_price": Decimal(1)})
        for i in range(5)
    ]
    history.remember(outcomes)
    assert [o.signal_id for o in history.outcomes] == ["s-2", "s-3", "s-4"]
