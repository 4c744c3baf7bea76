"""A decision that folds its own event in (a mark's breaker, a fill's margin) and the shell that
folds it again get one state: the second fold reuses the first, never a stale one."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.events.account import PositionMarked
from papertape.trading.account import evolve
from papertape.trading.account.scenarios import AAPL, Scenario, at, fill, mark, order, wide_open


def _held() -> Scenario:
    return Scenario(wide_open()).given(order("o1"), fill("o1", "100", "10"))


def _marked(s: Scenario, price: str) -> PositionMarked:
    events = s.when(mark(price))
    assert isinstance(events[0], PositionMarked)
    return events[0]


def test_the_same_event_on_the_same_state_is_folded_once() -> None:
    s = _held()
    state = s.state
    event = PositionMarked(account_id=state.account_id, ts=at(5), symbol=AAPL, price=Decimal(105))
    first = evolve(state, event)
    assert evolve(state, event) is first
    assert first.equity == state.cash + 1050
    assert state.marks.get(AAPL) != Decimal(105)  # the state folded from is unchanged


def test_an_equal_event_or_another_state_is_folded_anew() -> None:
    s = _held()
    state = s.state
    event = PositionMarked(account_id=state.account_id, ts=at(5), symbol=AAPL, price=Decimal(105))
    first = evolve(state, event)
    again = evolve(state, msgspec.structs.replace(event))
    assert again is not first
    assert again == first
    lower = evolve(first, msgspec.structs.replace(event, price=Decimal(95)))
    assert lower.equity == state.cash + 950
    assert evolve(state, event) is not first  # the last fold was another one
    assert evolve(state, event) == first


def test_a_mark_decided_and_recorded_gives_the_state_replay_gives() -> None:
    s = _held()
    _marked(s, "104")
    _marked(s, "97")
    replayed = Scenario(wide_open()).given(
        order("o1"), fill("o1", "100", "10"), mark("104"), mark("97")
    )
    assert s.state == replayed.state
    assert s.state.equity == s.state.cash + 970
