"""Backtests on the same code as paper trading: a session, its account and the venue in-process."""

from papertape.trading.backtest.config import NO_COSTS, BacktestConfig, FillAt
from papertape.trading.backtest.engine import Backtest

__all__ = ["NO_COSTS", "Backtest", "BacktestConfig", "FillAt"]
