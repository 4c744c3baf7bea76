"""Signals and bars are never tracked by the cyclic collector: a service keeps many of them."""

from __future__ import annotations

import gc

from papertape.common.testing.examples import example_of
from papertape.contract.codec import Codec, encode
from papertape.contract.events.market import BarClosed
from papertape.contract.events.signals import SignalEvent, SignalGenerated

signals: Codec[SignalEvent] = Codec(SignalEvent)


def test_a_decoded_signal_its_bar_and_its_indicator_values_are_not_tracked() -> None:
    example = example_of(SignalGenerated, {"params_hash": "0123456789abcdef"})
    signal = signals.decode(encode(example))

    assert isinstance(signal, SignalGenerated)
    assert signal.indicators
    assert not gc.is_tracked(signal)
    assert not gc.is_tracked(signal.bar)
    assert not any(gc.is_tracked(value) for value in signal.indicators)


def test_a_bar_built_in_code_is_not_tracked() -> None:
    assert not gc.is_tracked(example_of(BarClosed))
