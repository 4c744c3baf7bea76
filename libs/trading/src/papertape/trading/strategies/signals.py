"""An evaluation becomes a signal: ids derived from the bar, numbers quantized, scores added.

The signal id is a UUIDv7 derived from (session, symbol, timeframe, bar start) with the bar's
end as its time: the same bar evaluated again (a redelivery, a restart) gives the same id, so
the log and the SIGNALS stream keep it once. The order a signal asks for has an id derived from
the signal id the same way, so portfolio places it once however often it is asked.
"""

from __future__ import annotations

import math
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
from papertape.trading.strategies.confidence import clamp_score, level_of
from papertape.trading.strategies.scores import opportunity_score, reward_to_risk, risk_score

_LIMIT = 1e12


def _ms(bar: BarClosed) -> int:
    return int(bar.end.timestamp() * 1000)


def signal_id(session_id: str, bar: BarClosed) -> str:
    """The deterministic id of the signal a session's strategy leaves on a bar."""
    key = f"signal:{session_id}:{bar.symbol}:{bar.timeframe.value}:{bar.start.isoformat()}"
    return derived_uuid7(key, _ms(bar))


def order_id(signal: SignalGenerated, leg: str = "entry") -> str:
    """The deterministic id of the order a signal asks for (``leg``: entry, or close)."""
    return derived_uuid7(f"order:{leg}:{signal.signal_id}", int(signal.ts.timestamp() * 1000))


def _value(x: float) -> Decimal | None:
    """An indicator's float rounded (half to even) to ``INDICATOR_PLACES`` places."""
    if not math.isfinite(x) or abs(x) > _LIMIT:
        return None
    return Decimal(f"{x:.{INDICATOR_PLACES}f}")  # the float's exact value, correctly rounded


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
    """The signal of a strategy's evaluation of a bar."""
    instrument = instrument_for(bar.symbol)
    confidence = clamp_score(evaluation.confidence)
    entry, stop = _price(instrument, evaluation.entry), _price(instrument, evaluation.stop)
    targets = tuple(t for x in evaluation.targets if (t := _price(instrument, x)) is not None)
    rr: float | None = None
    if evaluation.entry is not None and evaluation.stop is not None and evaluation.targets:
        rr = reward_to_risk(evaluation.entry, evaluation.stop, evaluation.targets[0])
    actionable = evaluation.decision.opens
    indicators = tuple(
        IndicatorValue(name=name, value=v)
        for name, x in evaluation.indicators
        if (v := _value(x)) is not None
    )
    return SignalGenerated(
        signal_id=signal_id(session_id, bar),
        session_id=session_id,
        account_id=AccountId(account_id),
        strategy=strategy,
        params_hash=params_hash,
        symbol=bar.symbol,
        timeframe=bar.timeframe,
        bar=bar,
        decision=evaluation.decision,
        confidence=confidence,
        level=level_of(confidence),
        risk_score=risk_score(evaluation.entry, evaluation.stop, evaluation.volatility),
        opportunity_score=opportunity_score(confidence, rr) if actionable else 0,
        entry=entry,
        stop=stop,
        targets=targets,
        reward_risk=quantize_places(Decimal(repr(rr)), 2) if rr is not None else None,
        reasoning=evaluation.reasoning[:1000],
        factors=tuple(f[:200] for f in evaluation.factors[:16]),
        indicators=indicators[:32],
        ts=bar.end,
    )
