"""Money: 28 digits, banker's rounding, no floats."""

from __future__ import annotations

import threading
from decimal import Decimal, getcontext

import pytest

from papertape.contract.money import (
    DECIMAL_CONTEXT,
    ZERO,
    money,
    pct,
    quantize_places,
    quantize_to,
    to_decimal,
)


def test_the_money_context_has_28_digits_and_rounds_half_to_even() -> None:
    assert DECIMAL_CONTEXT.prec == 28
    assert str(getcontext().rounding) == "ROUND_HALF_EVEN"


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="floats are not money"):
        to_decimal(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "expected"), [("1.10", "1.10"), (3, "3"), (Decimal("2.5"), "2.5")])
def test_strings_ints_and_decimals_convert_exactly(raw: str | int | Decimal, expected: str) -> None:
    assert str(to_decimal(raw)) == expected


def test_conversion_keeps_28_significant_digits() -> None:
    digits = "1.23456789012345678901234567890123"
    assert to_decimal(digits) == Decimal("1.234567890123456789012345679")


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("1.005", "0.01", "1.00"),  # half to even: down to the even cent
        ("1.015", "0.01", "1.02"),  # half to even: up to the even cent
        ("101.37", "0.25", "101.25"),
        ("101.38", "0.25", "101.50"),
        ("7", "5", "5"),
        ("0.0000014", "0.000001", "0.000001"),
    ],
)
def test_quantize_to_rounds_to_a_multiple_of_the_step(value: str, step: str, expected: str) -> None:
    result = quantize_to(Decimal(value), Decimal(step))
    assert result == Decimal(expected)
    assert result % Decimal(step) == 0


def test_quantize_to_keeps_the_steps_exponent() -> None:
    assert str(quantize_to(Decimal("1.2"), Decimal("0.01"))) == "1.20"


@pytest.mark.parametrize("step", ["0", "-0.01"])
def test_quantize_to_refuses_a_step_that_is_not_positive(step: str) -> None:
    with pytest.raises(ValueError, match="step must be positive"):
        quantize_to(Decimal(1), Decimal(step))


def test_quantize_uses_the_money_context_in_any_thread() -> None:
    results: list[Decimal] = []

    def work() -> None:
        getcontext().prec = 3  # a thread with a poorer context must not change the result
        results.append(quantize_to(Decimal("12345.675"), Decimal("0.01")))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert results == [Decimal("12345.68")]


def test_quantize_places_and_money_round_half_to_even() -> None:
    assert quantize_places(Decimal("2.345"), 2) == Decimal("2.34")
    assert money(Decimal("2.355")) == Decimal("2.36")
    assert str(money(Decimal(3))) == "3.00"
    assert money(Decimal("1.23456"), places=0) == Decimal(1)


def test_pct_of_a_whole_and_of_nothing() -> None:
    assert pct(Decimal(25), Decimal(200)) == Decimal("12.5")
    assert pct(Decimal(5), ZERO) == ZERO
