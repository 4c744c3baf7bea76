"""How far a taker fill slips: fixed bps, volatility-scaled, volume-share, square-root impact.

Fees and the fixed bps come from the account's cost schedule (``papertape.trading.costs``).
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.execution import SlippageKind, SlippageModel
from papertape.contract.money import ZERO
from papertape.trading.costs.pricing import BPS
from papertape.trading.venue.market import Point
from papertape.trading.venue.prng import normal_for

__all__ = ["BPS", "slippage_bps"]


def slippage_bps(
    model: SlippageModel,
    point: Point,
    quantity: Decimal,
    sign: int,
    volatility_bps: Decimal,
    noise_key: str,
) -> Decimal:
    """Basis points a taker fill of ``quantity`` moves away from the touch (never negative)."""
    bps = model.bps
    if model.kind is SlippageKind.VOLATILITY:
        bps += model.volatility_multiplier * volatility_bps * abs(normal_for(model.seed, noise_key))
    elif model.kind in (SlippageKind.VOLUME_SHARE, SlippageKind.SQUARE_ROOT):
        volume = point.volume if point.from_bar else point.size(sign)
        if volume > 0:
            share = min(quantity / volume, Decimal(1))
            if model.kind is SlippageKind.VOLUME_SHARE:
                bps += model.impact * share * share * BPS
            else:
                sigma = point.range_fraction if point.from_bar else volatility_bps / BPS
                bps += model.impact * sigma * share.sqrt() * BPS
    return max(bps, ZERO)
