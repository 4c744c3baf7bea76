"""The built-in strategies by name, their parameters' JSON Schema and defaults, and a builder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from papertape.contract.events.sessions import RiskSettings, StrategyInfo
from papertape.trading.strategies.api import Params, Strategy
from papertape.trading.strategies.bollinger import BollingerReversion
from papertape.trading.strategies.breakout import DonchianBreakout
from papertape.trading.strategies.crossover import MovingAverageCrossover
from papertape.trading.strategies.reversion import RsiReversion

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (MovingAverageCrossover, RsiReversion, DonchianBreakout, BollingerReversion)
}


class UnknownStrategy(LookupError):
    """No built-in strategy has this name."""


def parse_params(name: str, parameters: Mapping[str, Any]) -> Params:
    """A strategy's parameters struct from the values a command carries (decimals as strings).

    Raises ``UnknownStrategy``, or ``msgspec.ValidationError`` naming the field that is wrong.
    """
    cls = STRATEGIES.get(name)
    if cls is None:
        raise UnknownStrategy(f"no strategy {name!r}; strategies: {', '.join(STRATEGIES)}")
    return msgspec.convert(dict(parameters), cls.params_type, strict=False)


def build(name: str, params: Params, risk: RiskSettings) -> Strategy:
    """A fresh strategy (for one symbol)."""
    cls = STRATEGIES[name]
    strategy: Strategy = cls(params, risk)
    return strategy


def defaults(name: str) -> dict[str, Any]:
    """A strategy's default parameters, as they travel (decimals as strings)."""
    value: dict[str, Any] = msgspec.to_builtins(STRATEGIES[name].params_type())
    return value


def normalized(name: str, params: Params) -> dict[str, Any]:
    """Parameters with every default filled in, as they travel: what the hash is taken of."""
    value: dict[str, Any] = msgspec.to_builtins(params)
    return value


def info(name: str) -> StrategyInfo:
    """What ``papertape strategies`` lists for one strategy."""
    cls = STRATEGIES[name]
    return StrategyInfo(
        name=name,
        description=cls.description,
        parameters_schema=msgspec.json.schema(cls.params_type),
        defaults=defaults(name),
    )


def catalog() -> list[StrategyInfo]:
    """Every built-in strategy."""
    return [info(name) for name in STRATEGIES]
