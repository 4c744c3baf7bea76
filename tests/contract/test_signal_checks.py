"""A signal's written-out checks refuse what Bounded's generic ones refuse, on the same fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from papertape.common.testing.examples import example_of
from papertape.contract.bounds import FINITE, NON_NEGATIVE, _checks
from papertape.contract.codec import Codec, encode
from papertape.contract.events.signals import IndicatorValue, SignalEvent, SignalGenerated

signals: Codec[SignalEvent] = Codec(SignalEvent)


def signal(**fields: Any) -> SignalGenerated:
    """A signal without levels (a HOLD's shape), with ``fields`` changed."""
    example = example_of(SignalGenerated, {"params_hash": "0123456789abcdef"})
    plain = msgspec.structs.replace(example, entry=None, stop=None, reward_risk=None, targets=())
    changed: SignalGenerated = msgspec.structs.replace(plain, **fields)
    return changed


def stored(fields: dict[str, Any]) -> bytes:
    """A signal's JSON with ``fields`` set as given (what another writer might have sent)."""
    return msgspec.json.encode({**msgspec.json.decode(encode(signal())), **fields})


def test_the_written_out_checks_cover_the_fields_bounded_would_check() -> None:
    assert _checks(SignalGenerated) == (
        (("entry", NON_NEGATIVE), ("stop", NON_NEGATIVE), ("reward_risk", FINITE)),
        ("ts",),
    )
    assert _checks(IndicatorValue) == ((("value", FINITE),), ())


@pytest.mark.parametrize(
    ("ts", "problem"),
    [
        ("2024-01-02T14:30:00", "Expected `datetime` with a timezone component"),
        ("2300-01-02T14:30:00Z", "ts must be in [1970, 2200)"),
    ],
)
def test_a_signal_without_levels_and_a_bad_time_is_refused(ts: str, problem: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=re.escape(problem)):
        signals.decode(stored({"ts": ts}))


def test_a_signal_without_levels_and_a_naive_time_cannot_even_be_built() -> None:
    with pytest.raises(ValueError, match="ts must carry a timezone"):
        signal(ts=datetime(2024, 1, 2))  # noqa: DTZ001 - the naive time under test
    with pytest.raises(ValueError, match=r"ts must be in \[1970, 2200\)"):
        signal(ts=datetime(2300, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    "fields",
    [{"stop": "-1"}, {"entry": "1e30"}, {"reward_risk": "NaN"}, {"targets": ["-2"]}],
)
def test_a_signal_with_a_bad_level_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError, match=next(iter(fields))):
        signals.decode(stored(fields))


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "Infinity", "-Infinity", "1e30", "1e400"])
def test_a_bad_indicator_value_is_refused_naming_the_field(bad: str) -> None:
    values = [{"name": "rsi", "value": bad}]
    with pytest.raises(msgspec.ValidationError, match="value must be"):
        signals.decode(stored({"indicators": values}))


@pytest.mark.parametrize("edge", ["-0", "-1e18", "1e18", "-5.123456789"])
def test_an_indicator_value_of_any_sign_and_places_up_to_the_limit_is_kept(edge: str) -> None:
    decoded = signals.decode(stored({"indicators": [{"name": "rsi", "value": edge}]}))

    assert isinstance(decoded, SignalGenerated)
    assert str(decoded.indicators[0].value) == str(Decimal(edge))
