"""A bot live and rebuilt: signals on every bar, orders for the signals it takes, the same state
after a replay of its stream, and nothing twice for a bar seen twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from papertape.common.testing.examples import example_of
from papertape.contract.events.account import OrderExpired, OrderFilledV2
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import (
    RiskOverrides,
    SessionFillRecorded,
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
    SessionPaused,
    Sizing,
    StartSession,
    StopKind,
)
from papertape.contract.events.signals import Decision, SignalGenerated
from papertape.contract.ids import AccountId, Symbol
from papertape.trading.strategies.bots import Bot, BotEvent
from papertape.trading.strategies.requests import (
    answer_from,
    entry_expired,
    fill_recorded,
    order_refused,
)
from papertape.trading.strategies.sessions import decide
from papertape.trading.strategies.sizing import AccountRoom
from tests.trading.strategies.bars import T0, bar, bars

ROOM = AccountRoom(equity=Decimal(100000), buying_power=Decimal(100000))
BREAKOUT = [100.0] * 25 + [101.0 + i for i in range(10)]


def started(
    min_confidence: int = 0, stop_kind: StopKind = StopKind.ATR, stop_value: int = 2
) -> tuple[Bot, list[BotEvent]]:
    command = StartSession(
        session_id="bot-1",
        account_id=AccountId("acc"),
        strategy="donchian_breakout",
        parameters={"period": 10, "exit_period": 5},
        symbols=(Symbol("AAPL"), Symbol("MSFT")),
        overrides=RiskOverrides(
            min_confidence=min_confidence,
            sizing=Sizing.RISK,
            stop_kind=stop_kind,
            stop_value=Decimal(stop_value),
        ),
    )
    bot = Bot()
    events: list[BotEvent] = list(decide(command, bot.state, T0))
    bot.apply(events)
    return bot, events


def feed(bot: Bot, closes: list[float], symbol: str = "AAPL", first: int = 0) -> list[BotEvent]:
    out: list[BotEvent] = []
    for b in bars(closes, symbol=symbol, first=first):
        out.extend(bot.on_bar(b, ROOM, b.end))
    return out


def test_every_bar_leaves_a_signal_and_a_breakout_asks_for_a_bracket_order() -> None:
    bot, _ = started()
    events = feed(bot, BREAKOUT)
    signals = [e for e in events if isinstance(e, SignalGenerated)]
    assert len(signals) == len(BREAKOUT)
    buy = next(s for s in signals if s.decision is Decision.BUY)
    order = next(e for e in events if isinstance(e, SessionOrderRequested))
    assert order.signal_id == buy.signal_id
    assert order.side is OrderSide.BUY
    assert order.stop_loss == buy.stop
    assert order.take_profit == buy.targets[0]
    assert order.quantity > 0
    assert order.order_id in bot.state.requested  # until portfolio answers


def test_a_bar_seen_again_is_ignored() -> None:
    bot, _ = started()
    feed(bot, BREAKOUT)
    again = bars(BREAKOUT)[-1]
    assert bot.on_bar(again, ROOM, again.end) == []


def test_other_symbols_and_timeframes_are_not_the_sessions() -> None:
    bot, _ = started()
    assert bot.on_bar(bar(100, 0, symbol="SPY"), ROOM, T0) == []


def test_a_signal_below_the_minimum_confidence_is_recorded_as_skip_and_not_traded() -> None:
    bot, _ = started(min_confidence=100)
    events = feed(bot, [100.0] * 25 + [100.6])  # a thin breakout: far from 100 confidence
    last = events[-1]
    assert isinstance(last, SignalGenerated)
    assert last.decision is Decision.SKIP
    assert "below the session's minimum" in last.reasoning
    assert bot.strategy("AAPL").holding is None  # the strategy holds nothing it did not take


def test_a_paused_session_records_signals_but_places_nothing() -> None:
    bot, _ = started()
    bot.apply([SessionPaused(session_id="bot-1", ts=T0)])
    events = feed(bot, BREAKOUT)
    assert not [e for e in events if isinstance(e, SessionOrderRequested)]
    assert any(isinstance(e, SignalGenerated) and "paused" in e.reasoning for e in events)


def test_a_refused_entry_is_counted_by_reason_and_the_strategy_looks_again() -> None:
    bot, _ = started()
    events = feed(bot, BREAKOUT[:26])
    order = next(e for e in events if isinstance(e, SessionOrderRequested))
    bot.apply(
        [
            SessionOrderRefused(
                session_id="bot-1",
                ts=T0,
                signal_id=order.signal_id,
                order_id=order.order_id,
                reason_code="insufficient_buying_power",
                message="no",
            )
        ]
    )
    assert bot.state.refusals == {"insufficient_buying_power": 1}
    assert bot.state.requested == {}
    assert bot.strategy("AAPL").holding is None


def test_fills_give_positions_and_a_close_asks_to_reduce_only() -> None:
    bot, _ = started(stop_kind=StopKind.PERCENT, stop_value=10)  # a stop the close stays above
    events = feed(bot, BREAKOUT[:26])
    order = next(e for e in events if isinstance(e, SessionOrderRequested))
    bot.apply(
        [
            SessionOrderPlaced(
                session_id="bot-1", ts=T0, signal_id=order.signal_id, order_id=order.order_id
            ),
            SessionFillRecorded(
                session_id="bot-1",
                ts=T0,
                order_id=order.order_id,
                fill_id=f"{order.order_id}.fill.1",
                symbol=Symbol("AAPL"),
                side=OrderSide.BUY,
                price=Decimal("101.00"),
                quantity=order.quantity,
                fee=Decimal(1),
            ),
        ]
    )
    assert bot.state.position("AAPL") == order.quantity
    assert bot.state.open_positions() == 1
    # The close through the exit channel (the lowest low of the last 5 bars).
    closing = feed(bot, [95.0], first=26)
    signal = next(e for e in closing if isinstance(e, SignalGenerated))
    assert signal.decision is Decision.CLOSE
    (close,) = [e for e in closing if isinstance(e, SessionOrderRequested)]
    assert close.reduce_only
    assert close.side is OrderSide.SELL
    assert close.quantity == order.quantity


def answer(order: SessionOrderRequested, *, placed: bool) -> BotEvent:
    if placed:
        return SessionOrderPlaced(
            session_id=order.session_id,
            ts=order.ts,
            signal_id=order.signal_id,
            order_id=order.order_id,
        )
    return SessionOrderRefused(
        session_id=order.session_id,
        ts=order.ts,
        signal_id=order.signal_id,
        order_id=order.order_id,
        reason_code="max_position_size",
        message="too big",
    )


closes = st.lists(
    st.floats(min_value=90, max_value=110, allow_nan=False).map(lambda x: round(x, 2)),
    min_size=5,
    max_size=80,
)


@settings(max_examples=25, deadline=None)
@given(
    closes,
    closes,
    st.sampled_from(["ma_crossover", "rsi_reversion", "bollinger_reversion", "donchian_breakout"]),
)
def test_a_bot_rebuilt_from_its_stream_is_the_bot_that_lived_it(
    aapl: list[float], msft: list[float], strategy: str
) -> None:
    command = StartSession(
        session_id="bot-1",
        account_id=AccountId("acc"),
        strategy=strategy,
        parameters={},
        symbols=(Symbol("AAPL"), Symbol("MSFT")),
        overrides=RiskOverrides(min_confidence=50),
    )
    live = Bot()
    stream: list[BotEvent] = list(decide(command, live.state, T0))
    live.apply(stream)
    for a, m in zip(bars(aapl), bars(msft, symbol="MSFT"), strict=False):
        for b in (a, m):
            events = live.on_bar(b, ROOM, b.end + timedelta(seconds=1))
            stream.extend(events)
            # Portfolio answers every order: some are placed, some refused.
            answers = [
                answer(e, placed=len(stream) % 2 == 0)
                for e in events
                if isinstance(e, SessionOrderRequested)
            ]
            live.apply(answers)
            stream.extend(answers)
    rebuilt = Bot()
    for event in stream:
        rebuilt.replay(event)
    assert rebuilt.state == live.state
    assert {s: st_.holding for s, st_ in rebuilt.strategies.items()} == {
        s: st_.holding for s, st_ in live.strategies.items()
    }
    assert [(p.signal.signal_id, p.bars) for ps in rebuilt.pending.values() for p in ps] == [
        (p.signal.signal_id, p.bars) for ps in live.pending.values() for p in ps
    ]


def test_the_answers_and_fills_a_session_records_name_the_orders_account() -> None:
    bot, _ = started()
    order = next(e for e in feed(bot, BREAKOUT[:26]) if isinstance(e, SessionOrderRequested))
    fill = example_of(OrderFilledV2, {"account_id": "acc", "order_id": order.order_id})
    expiry = example_of(OrderExpired, {"account_id": "acc", "order_id": order.order_id})
    recorded = [
        answer_from(order, [], T0),
        order_refused(order, "max_position_size", "too big", T0),
        fill_recorded("bot-1", fill),
        entry_expired(bot.state, expiry),
    ]
    assert [e.account_id if e else None for e in recorded] == ["acc"] * 4
