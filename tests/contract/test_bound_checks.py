"""Every Bounded struct of the contract refuses, when built, exactly the Decimals its bounds do
not accept (``Bound.accepts``) and the times that are naive or outside [1970, 2200), naming the
field: the checks written out per class (``bounds._holds``) agree with the bounds (they pass
what the bounds accept, so the generic checks are not run again)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

import papertape.contract
from papertape.common.testing.examples import example_of
from papertape.contract.bounds import Bounded, _checks, _holds

for _module in pkgutil.walk_packages(papertape.contract.__path__, "papertape.contract."):
    importlib.import_module(_module.name)


def _subclasses(cls: type[Bounded]) -> list[type[Bounded]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def _examples() -> list[Bounded]:
    found: list[Bounded] = []
    for cls in sorted(set(_subclasses(Bounded)), key=lambda c: c.__qualname__):
        if cls.__module__.startswith("papertape.contract") and (_checks(cls)[0] or _checks(cls)[1]):
            try:
                found.append(example_of(cls))
            except (TypeError, ValueError, msgspec.ValidationError):
                continue  # a struct whose example needs more than the builder knows
    return found


EXAMPLES = _examples()
VALUES = [
    *map(Decimal, ("NaN", "sNaN", "Infinity", "-Infinity", "-0", "0", "0E-20", "-0.00")),
    *map(Decimal, ("1", "-1", "5", "0.000000000001", "0.0000000000001", "1.1234567890123")),
    *map(Decimal, ("100", "10000", "10000.01", "-10000", "-10000.01", "1E+12", "1.0000001E+12")),
    *map(Decimal, ("1E+18", "-1E+18", "1.1E+18", "-1.1E+18", "1E+30", "12.50", "3E-8")),
]


def refused(example: Bounded, field: str, value: Any) -> str | None:
    try:
        msgspec.structs.replace(example, **{field: value})
    except ValueError as error:
        return str(error)
    return None


def test_there_are_many_structs_to_check() -> None:
    assert len(EXAMPLES) > 40


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: type(e).__qualname__)
def test_a_struct_refuses_what_its_bounds_do_not_accept(example: Bounded) -> None:
    decimals, times = _checks(type(example))
    for field, bound in decimals:
        for value in VALUES:
            problem = refused(example, field, value)
            if bound.accepts(value):
                assert problem is None, (field, value)
                built = msgspec.structs.replace(example, **{field: value})
                assert _holds(type(example))(built), (field, value)  # not refused by the way
            else:
                assert problem == f"{field} {bound.problem(value)}", (field, value)
    for field in times:
        assert refused(example, field, datetime(2024, 1, 2, tzinfo=UTC)) is None
        naive = refused(example, field, datetime(2024, 1, 2))  # noqa: DTZ001 - under test
        assert (naive or "").startswith(f"{field} must carry a timezone")
        late = refused(example, field, datetime(2200, 1, 1, tzinfo=UTC))
        assert (late or "").startswith(f"{field} must be in [1970, 2200)")
