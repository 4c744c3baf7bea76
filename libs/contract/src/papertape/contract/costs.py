"""Cost schedules: what an account pays to trade, per asset class and per instrument.

One ``CostSchedule`` is read by both sides of a trade: the account reserves cash for an order's
expected costs with it, and the venue charges its fills with it. Terms the schedule does not
set come from the defaults table in ``papertape.trading.costs.defaults``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import Bounded, Bps, Charge, SignedBps
from papertape.contract.instruments import AssetClass

FX_LOT_UNITS = Decimal(100000)
"""A standard FX lot: 100,000 units of the base currency."""


class CostTerms(Bounded, frozen=True, kw_only=True):
    """The fee, slippage and spread terms of one asset class or instrument.

    An order's commission is max(minimum, units x per_share) + lots x per_lot + bps of notional
    + maker/taker bps + fixed; slippage moves a taker fill ``slippage_bps`` away from the touch;
    ``spread_pips`` is the spread assumed where the market shows none (a bar, a one-price quote).
    """

    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    """What the terms are called on fills and in the CLI (``equity``, ``AAPL`` …)."""
    per_share: Charge = Decimal(0)
    minimum: Charge = Decimal(0)
    """The least the per-share part of an order's commission comes to (when it is not zero)."""
    bps: Bps = Decimal(0)
    per_lot: Charge = Decimal(0)
    lot_units: Charge = FX_LOT_UNITS
    """Units in one lot for ``per_lot`` (FX: 100,000)."""
    fixed: Charge = Decimal(0)
    maker_bps: SignedBps = Decimal(0)
    taker_bps: SignedBps = Decimal(0)
    slippage_bps: Bps = Decimal(0)
    spread_pips: Charge = Decimal(0)
    """Full spread in pips (price units where an instrument has no pip) when none is quoted."""


class CostSchedule(Bounded, frozen=True, kw_only=True):
    """An account's cost terms: per asset class, and per-instrument overrides (which win)."""

    asset_classes: dict[AssetClass, CostTerms] = {}
    instruments: dict[str, CostTerms] = {}


class CostModel(Bounded, frozen=True, kw_only=True):
    """Trading costs of schema v1, one set for every asset class (now a ``CostSchedule``)."""

    commission_per_share: Charge = Decimal(0)
    commission_min: Charge = Decimal(0)
    commission_bps: Bps = Decimal(0)
    commission_fixed: Charge = Decimal(0)
    maker_bps: SignedBps = Decimal(0)
    taker_bps: SignedBps = Decimal(0)
    slippage_bps: Bps = Decimal(0)


def schedule_from(model: CostModel) -> CostSchedule:
    """The schedule a v1 cost model stands for: none set (all zero) means the defaults table.

    A model that was set applied to every asset class, at the venue as in the reserve; it keeps
    doing so (as the schedule's entry of every class, named ``account``).
    """
    if model == CostModel():
        return CostSchedule()
    terms = CostTerms(
        name="account",
        per_share=model.commission_per_share,
        minimum=model.commission_min,
        bps=model.commission_bps,
        fixed=model.commission_fixed,
        maker_bps=model.maker_bps,
        taker_bps=model.taker_bps,
        slippage_bps=model.slippage_bps,
    )
    return CostSchedule(asset_classes=dict.fromkeys(AssetClass, terms))
