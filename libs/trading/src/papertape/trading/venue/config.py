"""Which models price a fill: defaults, overrides by account and instrument, account costs."""

from __future__ import annotations

import msgspec

from papertape.contract.events.account import CostModel
from papertape.contract.events.execution import ExecutionModels, FeeSchedule, TriggerSource

NO_COSTS = CostModel()


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults and overrides; keys are ``<account>:<symbol>``, ``<account>`` or ``<symbol>``."""

    default: ExecutionModels = ExecutionModels()
    overrides: dict[str, ExecutionModels] = {}
    trigger_source: TriggerSource = TriggerSource.LAST
    """Which quote price triggers stops (LAST falls back to MID when a quote has no last)."""
    bar_timeframe: str = "1m"
    """Bars of this width are matched (for symbols that have no quotes)."""

    def models_for(
        self, account_id: str, symbol: str, cost_model: CostModel | None = None
    ) -> ExecutionModels:
        """The most specific override (account:symbol, account, symbol, default), then costs.

        An account whose cost model is set (not all zero) pays its own fees and fixed slippage.
        """
        models = (
            self.overrides.get(f"{account_id}:{symbol}")
            or self.overrides.get(account_id)
            or self.overrides.get(symbol)
            or self.default
        )
        if cost_model is None or cost_model == NO_COSTS:
            return models
        fees = FeeSchedule(
            per_share=cost_model.commission_per_share,
            minimum=cost_model.commission_min,
            bps=cost_model.commission_bps,
            fixed=cost_model.commission_fixed,
            maker_bps=cost_model.maker_bps,
            taker_bps=cost_model.taker_bps,
        )
        slippage = msgspec.structs.replace(models.slippage, bps=cost_model.slippage_bps)
        return msgspec.structs.replace(models, fees=fees, slippage=slippage)
