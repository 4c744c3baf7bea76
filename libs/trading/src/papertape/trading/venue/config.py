"""Which models price a fill: defaults and overrides by account and instrument, then costs."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.costs import CostTerms
from papertape.contract.events.execution import ExecutionModels, FeeSchedule, TriggerSource
from papertape.trading.venue.sanity import DEFAULT_PRICE_BAND


def fee_schedule(terms: CostTerms) -> FeeSchedule:
    """The fee terms of a cost schedule's entry, as a fill records them."""
    return FeeSchedule(
        per_share=terms.per_share,
        minimum=terms.minimum,
        bps=terms.bps,
        fixed=terms.fixed,
        maker_bps=terms.maker_bps,
        taker_bps=terms.taker_bps,
        per_lot=terms.per_lot,
        lot_units=terms.lot_units,
    )


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults and overrides; keys are ``<account>:<symbol>``, ``<account>`` or ``<symbol>``.

    The models' slippage kind and fill policy are the venue's; fees and the fixed slippage bps
    always come from the account's cost schedule (``terms``), which the account reserves with.
    """

    default: ExecutionModels = ExecutionModels()
    overrides: dict[str, ExecutionModels] = {}
    trigger_source: TriggerSource = TriggerSource.LAST
    """Which quote price triggers stops (LAST falls back to MID when a quote has no last)."""
    bar_timeframe: str = "1m"
    """Bars of this width are matched (for symbols that have no quotes)."""
    price_band: Decimal = DEFAULT_PRICE_BAND
    """A quote or bar this far (a fraction) from the last good price is refused; 0: no band."""

    def models_for(
        self, account_id: str, symbol: str, terms: CostTerms | None = None
    ) -> ExecutionModels:
        """The most specific override (account:symbol, account, symbol, default), then costs."""
        models = (
            self.overrides.get(f"{account_id}:{symbol}")
            or self.overrides.get(account_id)
            or self.overrides.get(symbol)
            or self.default
        )
        if terms is None:
            return models
        slippage = msgspec.structs.replace(models.slippage, bps=terms.slippage_bps)
        return msgspec.structs.replace(models, fees=fee_schedule(terms), slippage=slippage)
