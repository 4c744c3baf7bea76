"""Estimated trading costs, used to reserve cash for an order before the venue prices its fee."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.account import CostModel
from papertape.contract.events.orders import Liquidity

_BPS = Decimal(10000)


def estimate_fee(
    model: CostModel, quantity: Decimal, price: Decimal, liquidity: Liquidity = Liquidity.TAKER
) -> Decimal:
    """Commission for ``quantity`` at ``price``: per share (min) + bps + fixed + maker/taker."""
    notional = abs(quantity * price)
    per_share = abs(quantity) * model.commission_per_share
    if per_share and per_share < model.commission_min:
        per_share = model.commission_min
    venue_bps = model.maker_bps if liquidity is Liquidity.MAKER else model.taker_bps
    return per_share + notional * (model.commission_bps + venue_bps) / _BPS + model.commission_fixed


def with_slippage(model: CostModel, price: Decimal, sign: int) -> Decimal:
    """A price moved against the trader by the model's slippage (``sign`` +1 buys, -1 sells)."""
    return price * (1 + sign * model.slippage_bps / _BPS)
