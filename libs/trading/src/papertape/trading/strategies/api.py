"""The strategy API: parameters in, bars (and optionally its own fills) in, evaluations out.

A strategy is built from its parameters struct (``Params``: JSON Schema, defaults and bounds
come from the struct) and the session's stop and target rules, for one symbol. Each bar it is
given returns an ``Evaluation``: the decision with its confidence, entry, stop, targets, the
reasons and the indicator values it saw. It keeps its own state (indicators, the position it
believes it holds); nothing here waits, reads a clock or draws chance, so the live signal
service and a backtest that feed the same bars get the same evaluations, and a strategy is
rebuilt by feeding it again the bars its signals recorded.

The position rules are shared (``Strategy.on_bar``); a built-in says only when to enter, how
sure it is, and when to leave (``setup``):

1. warming up (an indicator is not ready): SKIP;
2. holding a position: the bar reaching its stop is STOP_LOSS, reaching the first target
   TAKE_PROFIT (the stop first when a bar reaches both: a bar hides the order of its prices),
   the strategy's exit is CLOSE, an entry the other way is a reversal (SELL or BUY) when shorts
   are allowed, else CLOSE; anything else is HOLD;
3. flat: an entry is BUY or SELL with a stop (ATR multiple or percent of the entry) and one or
   two targets (multiples of the stop distance); a SELL entry without shorts allowed is HOLD,
   an entry whose stop cannot be set (no ATR yet, zero distance) is SKIP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from papertape.contract.bounds import Bound, Bounded
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import RiskSettings, StopKind
from papertape.contract.events.signals import Decision
from papertape.trading.strategies.indicators import ATR, Volatility


def between(low: Decimal | int, high: Decimal | int) -> msgspec.Meta:
    """The bounds of a Decimal parameter (checked when the parameters are parsed)."""
    bound = Bound(low=Decimal(low), high=Decimal(high), places=8)
    return msgspec.Meta(extra={"bound": bound}, extra_json_schema=bound.json_schema())


class Params(Bounded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A strategy's parameters: every field has a default and bounds (``msgspec.Meta`` for
    ints, ``between`` for Decimals)."""

    atr_period: int = 14
    volatility_period: int = 20


class Setup(msgspec.Struct, frozen=True):
    """What a strategy's rules see on a bar: an entry (+1 long, -1 short, 0 none), an exit of
    the position held, how sure it is, and why (a frozen struct, not a frozen dataclass: one is
    built on every bar, and a frozen dataclass's ``__init__`` costs ten times as much)."""

    entry: int
    exit: bool
    confidence: float
    reasoning: str
    factors: tuple[str, ...] = ()


class Evaluation(msgspec.Struct, frozen=True):
    """A strategy's verdict on one bar (floats; quantized where it becomes a signal; a frozen
    struct for the reason ``Setup`` is one)."""

    decision: Decision
    confidence: float
    reasoning: str
    factors: tuple[str, ...]
    indicators: tuple[tuple[str, float], ...]
    entry: float | None = None
    stop: float | None = None
    targets: tuple[float, ...] = ()
    volatility: float | None = None


@dataclass(slots=True)
class Holding:
    """The position the strategy believes it holds: +1 long, -1 short, with its levels."""

    side: int
    entry: float
    stop: float
    targets: tuple[float, ...]


def params_hash(name: str, parameters: Mapping[str, Any]) -> str:
    """16 hex digits identifying a strategy and its parameters (the same whatever the order)."""
    text = json.dumps({"strategy": name, **parameters}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Strategy:
    """The shared position rules; a built-in implements ``observe`` and ``setup``."""

    name: ClassVar[str]
    description: ClassVar[str]
    params_type: ClassVar[type[Params]]

    def __init__(self, params: Params, risk: RiskSettings, *, allow_short: bool = False) -> None:
        self.params = params
        self.risk = risk
        self.allow_short = allow_short
        self.atr = ATR(params.atr_period)
        self.volatility = Volatility(params.volatility_period)
        self.holding: Holding | None = None
        self.bars = 0
        self._stop_multiple = float(risk.stop_value)
        self._target_r = tuple(float(r) for r in risk.target_r)

    # --- what a built-in says ----------------------------------------------------------------
    def observe(self, high: float, low: float, close: float) -> bool:
        """Update the strategy's own indicators with the bar; whether they are all ready."""
        raise NotImplementedError

    def setup(self, close: float, side: int) -> Setup:
        """Entry and exit on this bar, given the side held (0: flat)."""
        raise NotImplementedError

    def values(self) -> tuple[tuple[str, float], ...]:
        """The strategy's own indicator values (those that are ready)."""
        raise NotImplementedError

    # --- the shared rules --------------------------------------------------------------------
    def on_bar(self, bar: BarClosed) -> Evaluation:
        """Evaluate a closed bar of the strategy's symbol."""
        high, low, close = float(bar.high), float(bar.low), float(bar.close)
        self.bars += 1
        atr = self.atr.update(high, low, close)
        volatility = self.volatility.update(close)
        ready = self.observe(high, low, close)
        values = self._values(atr, volatility)
        if not ready:
            return Evaluation(
                Decision.SKIP,
                0.0,
                f"warming up: {self.bars} bars seen, indicators not ready yet",
                ("warm-up",),
                values,
                volatility=volatility,
            )
        holding = self.holding
        setup = self.setup(close, holding.side if holding else 0)
        if holding is not None:
            return self._held(holding, high, low, close, setup, values, volatility, atr)
        return self._flat(close, setup, values, volatility, atr)

    def on_fill(self, side: int, price: float) -> None:
        """An entry of this strategy filled at ``price``: its levels move with the entry."""
        holding = self.holding
        if holding is None or holding.side != side or holding.entry == price:
            return
        shift = price - holding.entry
        holding.entry = price
        holding.stop += shift
        holding.targets = tuple(t + shift for t in holding.targets)

    def flat(self) -> None:
        """The position is gone (closed by the account, or the entry was refused)."""
        self.holding = None

    def _values(self, atr: float | None, volatility: float | None) -> tuple[tuple[str, float], ...]:
        values = self.values()
        if atr is not None:
            values += (("atr", atr),)
        if volatility is not None:
            values += (("volatility", volatility),)
        return values

    def _held(
        self,
        holding: Holding,
        high: float,
        low: float,
        close: float,
        setup: Setup,
        values: tuple[tuple[str, float], ...],
        volatility: float | None,
        atr: float | None,
    ) -> Evaluation:
        side = holding.side
        stopped = low <= holding.stop if side > 0 else high >= holding.stop
        target = holding.targets[0] if holding.targets else None
        reached = target is not None and (high >= target if side > 0 else low <= target)
        what = "long" if side > 0 else "short"
        if stopped or reached:
            self.holding = None
            decision, level, price = (
                (Decision.STOP_LOSS, "stop", holding.stop)
                if stopped  # a bar that reaches both is taken as the stop: it hides its order
                else (Decision.TAKE_PROFIT, "target", target)
            )
            return Evaluation(
                decision,
                100.0,
                f"the bar reached the {what} position's {level} at {price:.6g}",
                (f"{level} reached",),
                values,
                volatility=volatility,
                entry=holding.entry,
                stop=holding.stop,
                targets=holding.targets,
            )
        if setup.entry == -side:
            if self.allow_short:
                self.holding = None
                opened = self._flat(close, setup, values, volatility, atr)
                if opened.decision.opens:
                    return opened
            self.holding = None
            return Evaluation(
                Decision.CLOSE,
                setup.confidence,
                setup.reasoning,
                (*setup.factors, "reversal"),
                values,
                volatility=volatility,
            )
        if setup.exit:
            self.holding = None
            return Evaluation(
                Decision.CLOSE,
                setup.confidence,
                setup.reasoning,
                setup.factors,
                values,
                volatility=volatility,
            )
        return Evaluation(
            Decision.HOLD,
            setup.confidence,
            f"holding {what} from {holding.entry:.6g}: {setup.reasoning}",
            setup.factors,
            values,
            volatility=volatility,
            entry=holding.entry,
            stop=holding.stop,
            targets=holding.targets,
        )

    def _flat(
        self,
        close: float,
        setup: Setup,
        values: tuple[tuple[str, float], ...],
        volatility: float | None,
        atr: float | None,
    ) -> Evaluation:
        if setup.entry == 0:
            return Evaluation(
                Decision.HOLD,
                setup.confidence,
                setup.reasoning,
                setup.factors,
                values,
                volatility=volatility,
            )
        if setup.entry < 0 and not self.allow_short:
            return Evaluation(
                Decision.HOLD,
                setup.confidence,
                f"{setup.reasoning}; shorts are not allowed",
                (*setup.factors, "long only"),
                values,
                volatility=volatility,
            )
        distance = self._stop_distance(close, atr)
        if distance is None or distance <= 0:
            return Evaluation(
                Decision.SKIP,
                setup.confidence,
                f"{setup.reasoning}; no stop distance yet",
                setup.factors,
                values,
                volatility=volatility,
            )
        side = setup.entry
        stop = close - side * distance
        targets = tuple(close + side * r * distance for r in self._target_r)
        self.holding = Holding(side, close, stop, targets)
        return Evaluation(
            Decision.BUY if side > 0 else Decision.SELL,
            setup.confidence,
            setup.reasoning,
            setup.factors,
            values,
            entry=close,
            stop=stop,
            targets=targets,
            volatility=volatility,
        )

    def _stop_distance(self, close: float, atr: float | None) -> float | None:
        if self.risk.stop_kind is StopKind.ATR:
            return None if atr is None else atr * self._stop_multiple
        return close * self._stop_multiple / 100
