"""An indicator's float in a signal: rounded half to even to the contract's places, or left out
when it is not a finite number in range."""

from __future__ import annotations

import random
from decimal import Decimal

from papertape.contract.events.signals import INDICATOR_PLACES
from papertape.trading.strategies.signals import _value


def test_values_are_the_floats_correctly_rounded_to_the_contracts_places() -> None:
    rng = random.Random(14)
    floats = [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [rng.gauss(0, 1) for _ in range(2000)]
    floats += [0.0, -0.0, 5e-9, 1.5e-8, 2.5e-8, 123456789.123456785, 1e12, -1e12]
    for x in floats:
        value = _value(x)
        assert value is not None
        # the same digits, exponent and sign (-0.0 stays -0E-8), not only an equal number
        assert value.as_tuple() == Decimal(format(x, f".{INDICATOR_PLACES}f")).as_tuple(), x


def test_what_is_not_a_finite_number_in_range_is_left_out() -> None:
    for x in (float("nan"), float("inf"), float("-inf"), 1.000001e12, -2e12):
        assert _value(x) is None
