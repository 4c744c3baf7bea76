"""KeyOrder: a key's messages NACKed hold back its later ones until they are handled."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from papertape.common.bus.ordering import DEFER_MARGIN_S, MIN_DEFER_S, KeyOrder


@dataclass
class _Sequence:
    stream: int


@dataclass
class _Metadata:
    sequence: _Sequence
    stream: str = "EXECUTION"
    num_delivered: int = 1


@dataclass
class FakeMsg:
    """What KeyOrder reads of a JetStream message: its subject and stream sequence."""

    subject: str
    seq: int
    metadata: _Metadata = field(init=False)

    def __post_init__(self) -> None:
        self.metadata = _Metadata(_Sequence(self.seq))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def account(subject: str) -> str:
    return subject.split(".")[1]


def test_nothing_held_lets_every_message_through() -> None:
    order = KeyOrder(account)
    assert order.deferral(FakeMsg("exec.a.fill", 1)) is None
    assert order.deferral(FakeMsg("exec.b.fill", 2)) is None


def test_a_later_message_of_a_nacked_ones_key_is_deferred_until_after_it_is_due() -> None:
    clock = Clock()
    order = KeyOrder(account, clock)
    order.nacked(FakeMsg("exec.a.fill", 10), delay=15.0)  # due at 115
    clock.now = 101.0

    delay = order.deferral(FakeMsg("exec.a.fill", 12))

    assert delay == pytest.approx(14.0 + DEFER_MARGIN_S)  # comes back after seq 10 is due
    assert order.held("a") == [10, 12]
    assert order.deferral(FakeMsg("exec.b.fill", 13)) is None  # other keys go on
    assert order.deferral(FakeMsg("exec.a.fill", 9)) is None  # an earlier one is not held back


def test_a_deferral_is_never_shorter_than_the_minimum() -> None:
    clock = Clock()
    order = KeyOrder(account, clock)
    order.nacked(FakeMsg("exec.a.fill", 1), delay=0.0)
    clock.now = 105.0  # seq 1 is overdue: its redelivery is on its way

    assert order.deferral(FakeMsg("exec.a.fill", 2)) == MIN_DEFER_S


def test_messages_go_in_stream_order_once_the_earliest_is_handled() -> None:
    clock = Clock()
    order = KeyOrder(account, clock)
    first, second, third = (FakeMsg("exec.a.fill", seq) for seq in (10, 11, 12))
    order.nacked(first, delay=15.0)
    assert order.deferral(third) is not None
    assert order.deferral(second) is not None

    assert order.deferral(first) is None  # its redelivery: handled now
    order.settled(first)
    assert order.deferral(third) is not None  # 11 is still held: 12 waits for it
    assert order.deferral(second) is None
    order.settled(second)
    assert order.deferral(third) is None
    order.settled(third)
    assert order.held("a") == []


def test_a_message_outside_a_stream_cannot_be_kept_in_order() -> None:
    order = KeyOrder(account)
    order.nacked(FakeMsg("exec.a.fill", 1), delay=1.0)

    class Core:
        subject = "exec.a.fill"

    with pytest.raises(ValueError, match="JetStream"):
        order.deferral(Core())


def test_a_held_message_that_never_comes_back_is_given_up_after_its_grace() -> None:
    clock = Clock()
    order = KeyOrder(account, clock, grace=5.0)
    order.nacked(FakeMsg("exec.a.fill", 1), delay=1.0)  # due at 101, given up at 106
    clock.now = 105.0
    assert order.deferral(FakeMsg("exec.a.fill", 2)) == MIN_DEFER_S  # still waited for

    clock.now = 107.0
    order.settled(FakeMsg("exec.a.fill", 2))
    assert order.deferral(FakeMsg("exec.a.fill", 3)) is None  # gone from the stream, say
    assert order.held("a") == []


def test_a_message_presumed_in_flight_holds_its_key_until_it_is_handled_or_its_wait_ends() -> None:
    clock = Clock()
    order = KeyOrder(account, clock)
    order.presume("exec.a.fill", 7, within=30.0, grace=2.0)  # left by a process that died

    assert order.deferral(FakeMsg("exec.a.fill", 8)) == pytest.approx(30.0 + DEFER_MARGIN_S)
    order.settled(FakeMsg("exec.a.fill", 8))
    clock.now = 133.0  # never came back (it was acknowledged before the other process died)
    assert order.deferral(FakeMsg("exec.a.fill", 9)) is None
