"""What a backtest runs: the strategy and its parameters, the account, the fill and cost models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.market import Timeframe
from papertape.contract.events.sessions import RiskOverrides, TradingMode
from papertape.contract.instruments import AssetClass
from papertape.contract.limits import RiskLimits
from papertape.trading.strategies.api import Strategy
from papertape.trading.venue.config import VenueConfig

NO_COSTS = CostSchedule(asset_classes=dict.fromkeys(AssetClass, CostTerms(name="none")))
"""No fees, slippage or modeled spread in any asset class (``--costs none``)."""


class FillAt(StrEnum):
    """Where a session's entries fill (its closes at market, its brackets along the bar path)."""

    NEXT_OPEN = "next_open"
    """At the open of the bar after the signal (what a paper session on bars gets)."""
    CLOSE = "close"
    """At the signal bar's close (the venue sees the close as one point of market)."""
    BAR_PATH = "bar_path"
    """Along the next bar's path: the entry rests in the venue as a limit at the signal's entry
    price, good till the next bar's end, and fills where the path (open, nearer extreme, other
    extreme, close) reaches it, at the open when the bar opens through it. An entry the path
    never reaches expires at the venue; the account and the session record the expiry, and the
    strategy is told it holds nothing. Closes fill at the next bar's open as with NEXT_OPEN."""


@dataclass(frozen=True, kw_only=True)
class BacktestConfig:
    """One backtest: a strategy class, its parameters, the session, the account and models."""

    strategy: type[Strategy]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...]
    timeframe: Timeframe = Timeframe.M1
    mode: TradingMode = TradingMode.BALANCED
    overrides: RiskOverrides = field(default_factory=RiskOverrides)
    initial_cash: Decimal = Decimal(100_000)
    base_currency: str = "USD"
    allow_short: bool | None = None
    """Long/short (True), long only (False), or as the strategy's parameters say (None); the
    account allows shorts when the strategy may sell first."""
    account_allow_short: bool | None = None
    """The account's own permission to sell short, when it differs from the strategy's (a paper
    account that refuses the shorts its long/short session asks for); None: as ``allow_short``."""
    margin_requirement: Decimal = Decimal("0.5")
    limits: RiskLimits = field(default_factory=RiskLimits)
    fill_at: FillAt = FillAt.NEXT_OPEN
    schedule: CostSchedule | None = None
    """The cost schedule (None: the account's default schedule; ``NO_COSTS``: none)."""
    venue: VenueConfig = field(default_factory=VenueConfig)
    """The venue's fill, slippage and latency models (fees come from the schedule)."""
    account_id: str = "backtest"
    session_id: str = "backtest"
