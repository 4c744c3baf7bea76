"""The bar path in batches, and the relay's encoding, on the in-memory log (no servers)."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec

from papertape.common.clock import FakeClock
from papertape.common.eventlog import (
    InMemoryEventLog,
    RecordedEvent,
    decode_envelope,
    envelope_of,
)
from papertape.contract.codec import encode
from papertape.contract.events.account import OrderExpired
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.sessions import (
    RiskOverrides,
    SessionCommand,
    SessionOrderPlaced,
    StartSession,
    session_stream,
)
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId, Symbol
from papertape.contract.subjects import Subjects
from papertape.signals.book import SessionBook, session_events
from papertape.signals.handlers import Pipeline
from papertape.signals.relay import subject_of, wire_of
from papertape.trading.strategies.sizing import AccountRoom
from tests.trading.strategies.bars import T0, bars

SYMBOLS = ("AAPL", "MSFT", "BTCUSD")
CLOSES = [100.0] * 25 + [101.0 + i for i in range(10)] + [105.0 - i for i in range(10)]


async def pipeline() -> tuple[Pipeline, InMemoryEventLog]:
    log = InMemoryEventLog()
    clock = FakeClock(T0)
    book = SessionBook(log, clock, horizon=5, history=10_000)
    for name in ("donchian_breakout", "ma_crossover"):
        command: Request[SessionCommand] = Request(
            request_id=f"start-{name}",
            issued_at=T0,
            actor=Actor("test"),
            body=StartSession(
                session_id=f"bot-{name.replace('_', '-')}",
                account_id=AccountId("acc"),
                strategy=name,
                symbols=tuple(Symbol(s) for s in SYMBOLS),
                overrides=RiskOverrides(min_confidence=0),
            ),
        )
        await book.execute(command)
    found = Pipeline(book, clock)
    found.rooms["acc"] = AccountRoom(equity=Decimal(100_000), buying_power=Decimal(100_000))
    return found, log


def wire() -> list[bytes]:
    series = [bars(CLOSES, symbol=s) for s in SYMBOLS]
    return [encode(b) for minute in zip(*series, strict=True) for b in minute]


def stored(log: InMemoryEventLog) -> list[tuple[str, int, str, str, str]]:
    """Every stream's events in their order (the streams interleave differently)."""
    found = [(r.stream_id, r.stream_version, r.event_id, r.data, r.metadata) for r in log._events]
    return sorted(found)


async def test_bars_in_batches_record_what_they_record_one_at_a_time() -> None:
    one, one_log = await pipeline()
    for data in wire():
        await one.on_bar(data)
    batched, batched_log = await pipeline()
    every = wire()
    for begin in range(0, len(every), 16):
        await batched.on_bars(every[begin : begin + 16])

    assert stored(batched_log) == stored(one_log)
    versions = [await batched_log.stream_version(session_stream(s)) for s in batched.book.bots]
    assert sum(versions) == len(batched_log._events)
    signals = sum(sum(b.state.signals.values()) for b in batched.book.bots.values())
    assert signals == len(every) * 2  # every bar, every session


async def test_bars_seen_again_in_a_batch_record_nothing_more() -> None:
    found, log = await pipeline()
    data = wire()
    await found.on_bars(data[:60])
    before = len(log._events)

    recorded = await found.on_bars(data[:60])  # redelivered: older than each session's last

    assert recorded == []
    assert len(log._events) == before


async def test_an_entry_asked_for_counts_as_open_until_answered() -> None:
    found, _log = await pipeline()
    for bot in found.book.bots.values():
        assert bot.state.risk is not None
        bot.state.risk = msgspec.structs.replace(bot.state.risk, max_open_positions=2)
    await found.on_bars(wire())  # no portfolio: every order stays asked for

    bot = found.book.bots["bot-donchian-breakout"]
    entering = {o.symbol for o in bot.state.requested.values() if not o.reduce_only}
    assert len(entering) == 2  # all three symbols broke out together; the third waits
    assert bot.state.open_positions() == 2
    skipped = [s for s in found.book.history.signals if "positions are open" in s.reasoning]
    assert {s.symbol for s in skipped} == set(SYMBOLS) - entering


def relayed(recorded: RecordedEvent, subjects: Subjects) -> tuple[str, object]:
    envelope = decode_envelope(recorded, session_events)
    return subject_of(subjects, envelope), json.loads(encode(envelope))


async def test_the_relay_publishes_the_stored_data_as_the_decoded_envelope_would_in_its_bytes() -> (
    None
):
    found, log = await pipeline()
    await found.on_bars(wire())
    subjects = Subjects("t1")

    for recorded in log._events:
        subject, payload = wire_of(subjects, recorded)
        assert (subject, json.loads(payload)) == relayed(recorded, subjects)
        assert payload == encode(envelope_of(recorded, msgspec.Raw(recorded.data)))


async def test_an_entry_the_venue_expired_unfilled_is_recorded_once_and_frees_its_symbol() -> None:
    found, log = await pipeline()
    await found.on_bars(wire()[: 3 * 28])  # the breakout; no portfolio: entries stay asked for
    bot = found.book.bots["bot-donchian-breakout"]
    order = next(o for o in bot.state.requested.values() if not o.reduce_only)
    placed = SessionOrderPlaced(
        session_id=order.session_id, ts=T0, signal_id=order.signal_id, order_id=order.order_id
    )
    await found.book.record(bot, [placed], order.order_id)
    assert order.symbol in bot.state.entries
    assert bot.strategy(order.symbol).holding is not None  # it believes the entry happened
    expired = Envelope(
        event_id=EventId("0190a5f0-0000-7000-8000-000000000001"),
        stream_id=StreamId("account-acc"),
        stream_version=9,
        occurred_at=T0,
        correlation_id=CorrelationId("test"),
        actor=Actor("execution"),
        data=OrderExpired(account_id=AccountId("acc"), ts=T0, order_id=order.order_id,
                          reason="day"),
    )  # fmt: skip

    for _ in range(2):  # delivered again: recorded once
        await found.on_account_event(encode(expired))

    recorded = [
        r for r in log._events
        if r.stream_id == session_stream(bot.state.session_id) and r.type == "session_order_expired"
    ]  # fmt: skip
    assert len(recorded) == 1
    assert json.loads(recorded[0].data)["signal_id"] == order.signal_id
    assert order.symbol not in bot.state.entries
    assert bot.state.orders_expired == 1
    assert bot.strategy(order.symbol).holding is None
