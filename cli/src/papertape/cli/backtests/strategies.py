"""The strategy a backtest runs: a built-in by name, or the user's own class by import path."""

from __future__ import annotations

import importlib

from papertape.trading.strategies.api import Strategy
from papertape.trading.strategies.registry import STRATEGIES


class StrategyNotFound(LookupError):
    """No built-in has the name and no importable class is at the path."""


def strategy_class(name: str) -> type[Strategy]:
    """``ema_crossover`` (a built-in) or ``package.module:Class`` / ``package.module.Class``."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    module_name, sep, attribute = name.rpartition(":") if ":" in name else name.rpartition(".")
    if not sep or not module_name:
        known = ", ".join(STRATEGIES)
        raise StrategyNotFound(f"strategy {name!r}: not a built-in ({known}) nor module:Class")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise StrategyNotFound(f"strategy {name!r}: {error}") from error
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyNotFound(f"strategy {name!r}: not a papertape Strategy subclass")
    return found
