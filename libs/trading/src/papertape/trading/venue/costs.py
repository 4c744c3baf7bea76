"""What a fill costs: slippage (fixed, volatility-scaled, volume-share, square-root) and fees."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.execution import FeeSchedule, SlippageKind, SlippageModel
from papertape.contract.events.orders import Liquidity
from papertape.contract.money import ZERO, money
from papertape.trading.venue.market import Point
from papertape.trading.venue.prng import normal_for

BPS = Decimal(10000)


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


def fee_for(
    schedule: FeeSchedule,
    liquidity: Liquidity,
    quantity: Decimal,
    price: Decimal,
    filled_before: Decimal,
    accrued_before: Decimal,
    charged_before: Decimal,
) -> tuple[Decimal, Decimal]:
    """This fill's fee and the order's new unrounded notional accrual.

    Per-share fees (with their minimum) and the fixed fee are the order's, not the fill's: the
    fills of an order add up to max(minimum, shares x rate) + fixed + bps of notional, in cents.
    """
    liquidity_bps = schedule.maker_bps if liquidity is Liquidity.MAKER else schedule.taker_bps
    accrued = accrued_before + abs(quantity * price) * (schedule.bps + liquidity_bps) / BPS
    per_share = (filled_before + quantity) * schedule.per_share
    if per_share > 0 and per_share < schedule.minimum:
        per_share = schedule.minimum
    total = money(per_share + accrued + schedule.fixed)
    return max(total - charged_before, ZERO), accrued
