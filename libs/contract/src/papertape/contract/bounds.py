"""Bounds of every number and time on the bus, checked when a message is decoded or built.

msgspec checks ints (``Meta(ge=, le=)``), strings (``pattern``, ``max_length``) and times
(``Meta(tz=True)``) itself; it has no numeric constraints for ``Decimal``, so a Decimal field
is annotated with one of the aliases below and ``Bounded.__post_init__`` checks it (msgspec
turns its ``ValueError`` into a ``ValidationError`` naming the field and where it is, e.g.
``amount must be 0 <= x <= 1E+12, got -5 - at `$.body```). A Decimal field without an alias must at
least be finite. Every datetime must carry a timezone (UTC on the wire) and lie in
[1970-01-01, 2200-01-01) UTC, where date arithmetic cannot overflow.

=================  ==========================  ==========  ========================
alias              range                       places      where
=================  ==========================  ==========  ========================
``Quantity``       0 <= x <= 1e12              the lot     order and fill quantities
``Price``          0 <= x <= 1e12              the tick    limits, stops, fills, marks
``Cash``           0 <= x <= 1e12              <= 12       deposits, withdrawals
``Capital``        0 <= x <= 1e12              <= 12       initial cash of an account
``Charge``         0 <= x <= 1e12              any         fees, commissions, quote prices
``Size``           0 <= x <= 1e18              any         quote sizes, volumes
``Percent``        0 <= x <= 100               any         trail percent
``Exposure``       0 <= x <= 10000             any         risk limits (% of equity, leveraged)
``Bps``            0 <= x <= 10000             any         commission and slippage bps
``SignedBps``      -10000 <= x <= 10000        any         maker/taker bps (a rebate is < 0)
``Ratio``          0 <= x <= 10                any         margin requirement, shares, impact
``Finite``         |x| <= 1e18                 any         everything else (events' results)
=================  ==========================  ==========  ========================

Zero is in range where the account refuses it with its own reason (a deposit, a quantity
or a fill price of 0: ``invalid_amount``, ``invalid_order``, ``invalid_fill``). A quantity off
the instrument's lot or a price off its tick is not malformed either: the account refuses it
(``invalid_order`` naming the field), never rounds it. No bounded Decimal may be ``NaN``,
``sNaN``, ``Infinity`` or (except ``Finite``) ``-0``.

Ints: counts are ``0 <= n <= 1e6`` (``Count``), page sizes ``1 <= n <= 10000`` (``Limit``),
stream versions ``>= 1``, milliseconds and seconds ``0 <= n <= 1 year``. Strings: account ids
are subject tokens (``[A-Za-z0-9_-]{1,64}``), other ids 1-200 characters, texts at most 1000,
currencies ``[A-Z]{3,5}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi

MAX_AMOUNT = Decimal("1e12")
"""The largest quantity, price or cash amount a command may carry."""
MAX_FINITE = Decimal("1e18")
MAX_PLACES = 12
YEAR_S = 365 * 86400
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Bound:
    """The range of a Decimal field: ``low`` (< or <=) x <= ``high``, at most ``places``."""

    low: Decimal
    high: Decimal
    low_open: bool = False
    places: int | None = MAX_PLACES
    negative_zero: bool = False

    def accepts(self, value: Decimal) -> bool:
        """Whether ``value`` is in bounds (the fast path of every message built or decoded)."""
        if not value.is_finite() or value > self.high:
            return False
        if value < self.low or (self.low_open and value == self.low):
            return False
        if not self.negative_zero and not value and value.is_signed():
            return False
        if self.places is None:
            return True
        exponent = value.as_tuple().exponent
        return not isinstance(exponent, int) or -exponent <= self.places

    def problem(self, value: Decimal) -> str | None:
        """What is wrong with ``value``, or None."""
        if not value.is_finite():
            return f"must be finite, got {value}"
        if value < self.low or value > self.high or (self.low_open and value == self.low):
            relation = "<" if self.low_open else "<="
            return f"must be {self.low} {relation} x <= {self.high}, got {value}"
        if not self.negative_zero and value.is_zero() and value.is_signed():
            return "must not be -0"
        if self.places is not None:
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > self.places:
                return f"must have at most {self.places} decimal places, got {value}"
        return None

    def json_schema(self) -> dict[str, Any]:
        """The bound as JSON Schema annotations of a decimal string."""
        low_key = "x-exclusiveMinimum" if self.low_open else "x-minimum"
        schema: dict[str, Any] = {low_key: str(self.low), "x-maximum": str(self.high)}
        if self.places is not None:
            schema["x-maxPlaces"] = self.places
        return schema


def _meta(bound: Bound) -> msgspec.Meta:
    return msgspec.Meta(extra={"bound": bound}, extra_json_schema=bound.json_schema())


_ZERO = Decimal(0)
NON_NEGATIVE = Bound(low=_ZERO, high=MAX_AMOUNT, places=None)
FINITE = Bound(low=-MAX_FINITE, high=MAX_FINITE, places=None, negative_zero=True)

Quantity = Annotated[Decimal, _meta(NON_NEGATIVE)]
Price = Annotated[Decimal, _meta(NON_NEGATIVE)]
Cash = Annotated[Decimal, _meta(Bound(low=_ZERO, high=MAX_AMOUNT))]
Capital = Annotated[Decimal, _meta(Bound(low=_ZERO, high=MAX_AMOUNT))]
Charge = Annotated[Decimal, _meta(NON_NEGATIVE)]
Size = Annotated[Decimal, _meta(Bound(low=_ZERO, high=MAX_FINITE, places=None))]
Percent = Annotated[Decimal, _meta(Bound(low=_ZERO, high=Decimal(100), places=None))]
Exposure = Annotated[Decimal, _meta(Bound(low=_ZERO, high=Decimal(10000), places=None))]
Bps = Annotated[Decimal, _meta(Bound(low=_ZERO, high=Decimal(10000), places=None))]
SignedBps = Annotated[Decimal, _meta(Bound(low=Decimal(-10000), high=Decimal(10000), places=None))]
Ratio = Annotated[Decimal, _meta(Bound(low=_ZERO, high=Decimal(10), places=None))]
Finite = Annotated[Decimal, _meta(FINITE)]

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A moment with a timezone (UTC on the wire); a naive time is refused."""
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
MAX_VERSION = 2**31 - 1
"""A stream version is a 32-bit integer in the log (``events.stream_version``)."""
Version = Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION)]
Position = Annotated[int, msgspec.Meta(ge=0)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=YEAR_S * 1000)]
Seconds = Annotated[int, msgspec.Meta(ge=0, le=YEAR_S)]
Seed = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Periods = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3,5}$")]
TOKEN = msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
"""An id that becomes a subject token (an account id): letters, digits, ``_`` and ``-``."""
NAME = msgspec.Meta(min_length=1, max_length=200)
"""An order, fill, report or request id: not empty, at most 200 characters."""
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""No control characters: a NUL is never stored (PostgreSQL's text and jsonb refuse it)."""


_TIME = object()  # the check of a datetime field: it must carry a timezone


def _check_of(info: mi.Type) -> Bound | object | None:
    """The check a field's type calls for: a Bound, _TIME, or None."""
    bound: Bound | None = None
    if isinstance(info, mi.Metadata):
        extra = info.extra or {}
        bound = extra.get("bound")
        info = info.type
    if isinstance(info, mi.UnionType):
        found = [c for c in (_check_of(t) for t in info.types) if c is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(info, mi.DecimalType):
        return bound or FINITE
    if isinstance(info, mi.DateTimeType):
        return _TIME
    return None


@functools.cache  # once per class: the field types of a struct are fixed
def _checks(cls: type[Any]) -> tuple[tuple[tuple[str, Bound], ...], tuple[str, ...]]:
    """The Decimal fields of a struct with their bounds, and its datetime fields."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    found = [(f.name, _check_of(f.type)) for f in info.fields]
    decimals = tuple((name, c) for name, c in found if isinstance(c, Bound))
    return decimals, tuple(name for name, c in found if c is _TIME)


@functools.cache  # once per class, as _checks
def _holds(cls: type[Bounded]) -> Callable[[Bounded], bool]:
    """Whether a struct's Decimals and times are all in bounds: ``Bound.accepts`` and the time
    rule written out field by field, in one function per class (as ``dataclasses`` writes an
    ``__init__``): every struct built or decoded is checked, and looping over its fields and
    calling ``accepts`` on each was most of that. ``Bounded`` names the problem when it fails.
    """
    decimals, times = _checks(cls)
    scope: dict[str, Any] = {"EARLIEST": EARLIEST, "LATEST": LATEST}
    lines = ["def holds(self):"]
    for i, (name, bound) in enumerate(decimals):
        scope[f"low{i}"], scope[f"high{i}"] = bound.low, bound.high
        tests = ["v.is_finite()", f"v <= high{i}", f"low{i} {'<' if bound.low_open else '<='} v"]
        if not bound.negative_zero:
            tests.append("(v or not v.is_signed())")
        if bound.places is not None:
            tests.append(f"-v.as_tuple().exponent <= {int(bound.places)}")
        lines += [f"    v = self.{name}", f"    if v is not None and not ({' and '.join(tests)}):"]
        lines.append("        return False")
    for name in times:
        lines += [f"    t = self.{name}", "    if t is not None and (t.tzinfo is None or not "]
        lines[-1] += "EARLIEST <= t < LATEST):"
        lines.append("        return False")
    lines.append("    return True")
    exec("\n".join(lines), scope)  # the source is built here, from the struct's field names
    holds: Callable[[Bounded], bool] = scope["holds"]
    return holds


def check_each(name: str, values: Any, bound: Bound) -> None:
    """Check every Decimal of a tuple field (the field bounds reach only a field's own value)."""
    for value in values:
        if not bound.accepts(value):
            raise ValueError(f"{name} {bound.problem(value)}")


class Bounded(msgspec.Struct, frozen=True):
    """A struct whose Decimals are finite and in range and whose times carry a timezone."""

    def __post_init__(self) -> None:
        if _holds(type(self))(self):
            return
        decimals, times = _checks(type(self))
        for name, bound in decimals:
            value = getattr(self, name)
            if value is not None and not bound.accepts(value):
                raise ValueError(f"{name} {bound.problem(value)}")
        for name in times:
            moment = getattr(self, name)
            if moment is None:
                continue
            if moment.tzinfo is None:
                raise ValueError(f"{name} must carry a timezone, got {moment.isoformat()}")
            if not EARLIEST <= moment < LATEST:
                raise ValueError(f"{name} must be in [1970, 2200), got {moment.isoformat()}")
