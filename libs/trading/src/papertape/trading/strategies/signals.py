"""An evaluation becomes a signal: ids derived from the bar, numbers quantized, scores added.

The signal id is a UUIDv7 derived from (session, symbol, timeframe, bar start) with the bar's
end as its time: the same bar evaluated again (a redelivery, a restart) gives the same id, so
the log and the SIGNALS stream keep it once. The order a signal asks for has an id derived from
the signal id the same way, so portfolio places it once however often it is asked.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from decimal import Decimal

from papertape.contract.events.market import BarClosed
from papertape.contract.events.signals import (
    INDICATOR_PLACES,
    IndicatorValue,
    SignalGenerated,
)
from papertape.contract.ids import AccountId, derived_uuid7
from papertape.contract.instruments import Instrument, instrument_for
from papertape.contract.money import quantize_places
from papertape.trading.strategies.api import Evaluation
from papertape.trading.strategies.confidence import level_of
from papertape.trading.strategies.scores import opportunity_score, reward_to_risk, risk_score

_LIMIT = 1e12


_instrument = functools.lru_cache(maxsize=4096)(instrument_for)
"""The instrument of a symbol, found once (every signal asks: ``instrument_for`` builds a guessed
instrument anew for a symbol it does not know)."""


_TIMES_KEPT = 4096
_ISO_TIMES: dict[datetime, str] = {}
"""ISO texts of UTC times, remembered (every session trading a symbol's bar, and every symbol
of one minute, ask for the same time); at most ``_TIMES_KEPT`` at once."""


def iso_time(moment: datetime) -> str:
    """``moment.isoformat()``, remembered for UTC times only: an equal time at another offset
    is written differently."""
    if moment.tzinfo is not UTC:
        return moment.isoformat()
    found = _ISO_TIMES.get(moment)
    if found is None:
        if len(_ISO_TIMES) >= _TIMES_KEPT:
            _ISO_TIMES.clear()
        found = _ISO_TIMES[moment] = moment.isoformat()
    return found


def signal_id(session_id: str, bar: BarClosed) -> str:
    """The deterministic id of the signal a session's strategy leaves on a bar (its time: the
    bar's end in whole milliseconds since the epoch, the same at any offset)."""
    key = f"signal:{session_id}:{bar.symbol}:{bar.timeframe!s}:{iso_time(bar.start)}"
    return derived_uuid7(key, int(bar.end.timestamp() * 1000))


def order_id(signal: SignalGenerated, leg: str = "entry") -> str:
    """The deterministic id of the order a signal asks for (``leg``: entry, or close)."""
    return derived_uuid7(f"order:{leg}:{signal.signal_id}", int(signal.ts.timestamp() * 1000))


_VALUE_FORMAT = f"%.{INDICATOR_PLACES}f"
"""An indicator's float rounded half to even to ``INDICATOR_PLACES`` places, as f"{x:.8f}"
writes it (its exact value, correctly rounded), formatted faster."""


def _price(instrument: Instrument, x: float | None) -> Decimal | None:
    if x is None or not math.isfinite(x) or not 0 < x < _LIMIT:
        return None
    return instrument.price(Decimal(repr(x)))


def signal_of(
    evaluation: Evaluation,
    bar: BarClosed,
    *,
    session_id: str,
    account_id: str,
    strategy: str,
    params_hash: str,
) -> SignalGenerated:
    """The signal of a strategy's evaluation of a bar (on every bar a session evaluates: the
    levels and scores are only worked out when the evaluation has them)."""
    confidence = min(100, max(0, round(evaluation.confidence)))  # clamp_score, inlined
    decision = evaluation.decision
    x_entry, x_stop, x_targets = evaluation.entry, evaluation.stop, evaluation.targets
    entry = stop = reward_risk = None
    targets: tuple[Decimal, ...] = ()
    opportunity = 0
    if x_entry is not None or x_stop is not None or x_targets:
        instrument = _instrument(bar.symbol)
        entry, stop = _price(instrument, x_entry), _price(instrument, x_stop)
        targets = tuple([t for x in x_targets if (t := _price(instrument, x)) is not None])
        if x_entry is not None and x_stop is not None and x_targets:
            rr = reward_to_risk(x_entry, x_stop, x_targets[0])
            if rr is not None:
                reward_risk = quantize_places(Decimal(repr(rr)), 2)
                if decision.opens:
                    opportunity = opportunity_score(confidence, rr)
    fmt, low, high = _VALUE_FORMAT, -_LIMIT, _LIMIT  # NaN and the infinities fail low <= x
    indicators = [
        IndicatorValue(name=name, value=Decimal(fmt % x))
        for name, x in evaluation.indicators
        if low <= x <= high
    ]
    factors = evaluation.factors  # at most 16 of at most 200 characters (as given when so)
    if len(factors) > 16 or max(map(len, factors), default=0) > 200:
        factors = tuple([f[:200] for f in factors[:16]])
    return SignalGenerated(
        signal_id=signal_id(session_id, bar),
        session_id=session_id,
        account_id=AccountId(account_id),
        strategy=strategy,
        params_hash=params_hash,
        symbol=bar.symbol,
        timeframe=bar.timeframe,
        bar=bar,
        decision=decision,
        confidence=confidence,
        level=level_of(confidence),
        risk_score=risk_score(x_entry, x_stop, evaluation.volatility),
        opportunity_score=opportunity,
        entry=entry,
        stop=stop,
        targets=targets,
        reward_risk=reward_risk,
        reasoning=evaluation.reasoning[:1000],
        factors=factors,
        indicators=tuple(indicators[:32]),
        ts=bar.end,
    )
