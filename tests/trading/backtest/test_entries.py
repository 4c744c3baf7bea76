"""``FillAt.BAR_PATH``: the entry rests in the venue at the signal's entry price and fills
where the next bar's path reaches it; an entry the path never reaches expires, and the account,
the session and the strategy all see it end."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.events.account import OrderExpired, OrderFilledV2, OrderPlaced
from papertape.contract.events.market import BarClosed
from papertape.contract.events.orders import OrderType, TimeInForce
from papertape.contract.events.sessions import SessionOrderExpired, SessionOrderRequested
from papertape.contract.events.signals import Decision, SignalGenerated
from papertape.trading.backtest import NO_COSTS, Backtest, BacktestConfig, FillAt
from papertape.trading.strategies.crossover import MovingAverageCrossover
from tests.trading.backtest import rules
from tests.trading.backtest.test_engine import FAR_STOPS

SMA = {"fast": 2, "slow": 3, "average": "sma", "atr_period": 2}
# Flat at 100, then a close of 101 crosses SMA(2) over SMA(3) on bar 3: a BUY, entry at 101.
SETUP = [("100", "100", "100", "100")] * 3 + [("100", "101", "100", "101")]


def bars_of(ohlc: list[tuple[str, str, str, str]]) -> list[BarClosed]:
    base = rules.wavy_bars(len(ohlc))
    return [
        msgspec.structs.replace(
            b, open=Decimal(o), high=Decimal(h), low=Decimal(lo), close=Decimal(c)
        )
        for b, (o, h, lo, c) in zip(base, ohlc, strict=True)
    ]


def run(bars: list[BarClosed], fill_at: FillAt = FillAt.BAR_PATH) -> Backtest:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters=SMA,
        symbols=("AAPL",),
        overrides=FAR_STOPS,
        fill_at=fill_at,
        schedule=NO_COSTS,
    )
    engine = Backtest(config)
    engine.run(bars)
    return engine


def account_events(engine: Backtest) -> list[object]:
    return engine.log.of("account-backtest")


def session_events(engine: Backtest) -> list[object]:
    return engine.log.of("session-backtest")


def test_the_entry_rests_as_a_limit_good_till_the_next_bars_end() -> None:
    bars = bars_of([*SETUP, ("102", "103", "100.50", "102"), ("102", "102", "102", "102")])
    engine = run(bars)
    [entry] = [
        e for e in account_events(engine) if isinstance(e, OrderPlaced) and e.role == "entry"
    ]
    assert (entry.order_type, entry.limit_price) == (OrderType.LIMIT, Decimal("101.00"))
    assert (entry.time_in_force, entry.expire_at) == (TimeInForce.GTD, bars[4].end)
    assert entry.ts == bars[3].end


def test_the_entry_fills_where_the_next_bars_path_reaches_it() -> None:
    # Bar 4 opens at 102 above the limit and falls to 100.50 on its way: filled at 101, not at
    # the open (what NEXT_OPEN gives), stamped at the bar's end as the venue stamps bar fills.
    bars = bars_of([*SETUP, ("102", "103", "100.50", "102"), ("102", "102", "102", "102")])
    [fill] = [e for e in account_events(run(bars)) if isinstance(e, OrderFilledV2)]
    assert (fill.price, fill.ts) == (Decimal("101.00"), bars[4].end)
    [at_open] = [e for e in account_events(run(bars, FillAt.NEXT_OPEN))
                 if isinstance(e, OrderFilledV2)]  # fmt: skip
    assert at_open.price == Decimal("102.00")


def test_a_bar_that_opens_through_the_limit_fills_it_at_the_open() -> None:
    bars = bars_of([*SETUP, ("100.50", "102", "100.50", "102"), ("102", "102", "102", "102")])
    [fill] = [e for e in account_events(run(bars)) if isinstance(e, OrderFilledV2)]
    assert fill.price == Decimal("100.50")


def test_an_entry_the_path_never_reaches_expires_and_the_session_and_strategy_see_it() -> None:
    # Bar 4 stays above 101; at the start of bar 5 the entry's time has run out.
    never = [("102", "104", "101.50", "104"), ("104", "104", "104", "104")]
    engine = run(bars_of([*SETUP, *never, ("104", "104", "104", "104")]))
    account = account_events(engine)
    assert not [e for e in account if isinstance(e, OrderFilledV2)]
    [expired] = [e for e in account if isinstance(e, OrderExpired)]
    session = session_events(engine)
    [requested] = [e for e in session if isinstance(e, SessionOrderRequested)]
    [recorded] = [e for e in session if isinstance(e, SessionOrderExpired)]
    assert (recorded.order_id, recorded.signal_id) == (expired.order_id, requested.signal_id)
    assert expired.order_id == requested.order_id
    assert recorded.ts == expired.ts
    state = engine.bot.state
    assert state.orders_expired == 1
    assert state.entries == set()
    assert state.open_positions() == 0
    assert engine.bot.strategy("AAPL").holding is None  # told it holds nothing
    assert engine.account.orders == {}  # the account holds no order (nor reserve) for it
    assert engine.desk.venue.working() == []


def test_after_an_expired_entry_the_next_setup_is_entered_again() -> None:
    never = [("102", "104", "101.50", "104"), ("104", "104", "104", "104")]
    # A fall (the averages cross down: the strategy, told it is flat, closes nothing), then a
    # rise from 100 crosses up again at 101 and bar 11 comes back to 101.
    again = [("100", "100", "100", "100")] * 3 + [("100", "101", "100", "101"),
             ("102", "103", "100.50", "102"), ("102", "102", "102", "102")]  # fmt: skip
    engine = run(bars_of([*SETUP, *never, ("104", "104", "104", "104"), *again]))
    session = session_events(engine)
    buys = [e for e in session if isinstance(e, SignalGenerated) and e.decision is Decision.BUY]
    assert len(buys) == 2
    assert len([e for e in session if isinstance(e, SessionOrderRequested)]) == 2
    [fill] = [e for e in account_events(engine) if isinstance(e, OrderFilledV2)]
    assert fill.price == Decimal("101.00")
    assert engine.bot.state.position("AAPL") == Decimal(10)


def test_the_default_fill_is_still_the_next_open_as_a_market_order() -> None:
    bars = bars_of([*SETUP, ("102", "103", "100.50", "102"), ("102", "102", "102", "102")])
    engine = run(bars, FillAt.NEXT_OPEN)
    [entry] = [
        e for e in account_events(engine) if isinstance(e, OrderPlaced) and e.role == "entry"
    ]
    assert entry.order_type is OrderType.MARKET
