"""An indicator's float in a signal: rounded half to even to the contract's places, or left out
when it is not a finite number in range; at most 32 of them, and at most 16 factors of at most
200 characters."""

from __future__ import annotations

import random
from decimal import Decimal

from papertape.contract.events.signals import INDICATOR_PLACES, Decision, SignalGenerated
from papertape.trading.strategies.api import Evaluation
from papertape.trading.strategies.signals import signal_of
from tests.trading.strategies.bars import bar


def signal(
    indicators: tuple[tuple[str, float], ...], factors: tuple[str, ...] = ()
) -> SignalGenerated:
    evaluation = Evaluation(Decision.HOLD, 50.0, "test", factors, indicators)
    return signal_of(
        evaluation, bar(100, 0), session_id="s", account_id="a", strategy="x", params_hash="0" * 16
    )


def test_values_are_the_floats_correctly_rounded_to_the_contracts_places() -> None:
    rng = random.Random(14)
    floats = [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [rng.gauss(0, 1) for _ in range(2000)]
    floats += [0.0, -0.0, 5e-9, 1.5e-8, 2.5e-8, 123456789.123456785, 1e12, -1e12]
    for start in range(0, len(floats), 32):
        batch = floats[start : start + 32]
        values = signal(tuple((f"i{n}", x) for n, x in enumerate(batch))).indicators
        assert [v.name for v in values] == [f"i{n}" for n in range(len(batch))]
        for x, value in zip(batch, values, strict=True):
            # the same digits, exponent and sign (-0.0 stays -0E-8), not only an equal number
            expected = Decimal(format(x, f".{INDICATOR_PLACES}f")).as_tuple()
            assert value.value.as_tuple() == expected, x


def test_what_is_not_a_finite_number_in_range_is_left_out() -> None:
    bad = (float("nan"), float("inf"), float("-inf"), 1.000001e12, -2e12)
    values = signal((("a", 1.0), *((f"bad{n}", x) for n, x in enumerate(bad)), ("b", 2.0)))
    assert [(v.name, v.value) for v in values.indicators] == [
        ("a", Decimal("1.00000000")),
        ("b", Decimal("2.00000000")),
    ]


def test_at_most_32_indicators_are_kept_after_those_left_out() -> None:
    many = (("nan", float("nan")), *((f"i{n}", float(n)) for n in range(40)))
    assert [v.name for v in signal(many).indicators] == [f"i{n}" for n in range(32)]


def test_factors_are_cut_to_16_of_200_characters_and_kept_as_given_when_they_fit() -> None:
    fitting = ("a" * 200, "b")
    assert signal((), fitting).factors == fitting
    long = tuple(f"{n}:" + "x" * 300 for n in range(20))
    assert signal((), long).factors == tuple(f[:200] for f in long[:16])
    assert signal((), ()).factors == ()
