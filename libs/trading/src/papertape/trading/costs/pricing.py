"""What an order costs under its cost terms: the account's reserve and the venue's fills.

The account reserves ``expected_costs`` of an order before it works; the venue moves a taker
fill to ``taker_price`` (from ``modeled_touch`` when the market shows no spread) and charges
``order_fee``. Both use the terms ``terms_for`` picks, so the reserve covers what is charged.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.orders import Liquidity
from papertape.contract.instruments import Instrument
from papertape.contract.money import ZERO, money
from papertape.trading.costs.defaults import DEFAULT_TERMS

BPS = Decimal(10000)
_TWO = Decimal(2)
_NO_TERMS = CostTerms()


class CostEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """An order's expected fill price and costs (cash, in the instrument's quote currency)."""

    price: Decimal
    spread: Decimal
    slippage: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        """Spread, slippage and fee together."""
        return self.spread + self.slippage + self.fee


def terms_for(schedule: CostSchedule, instrument: Instrument) -> CostTerms:
    """The instrument's override, else its asset class's entry, else the defaults table."""
    found = schedule.instruments.get(instrument.symbol)
    if found is None:
        found = schedule.asset_classes.get(instrument.asset_class)
    if found is None:
        found = DEFAULT_TERMS.get(instrument.asset_class, _NO_TERMS)
    return found


def modeled_touch(terms: CostTerms, instrument: Instrument, mid: Decimal, sign: int) -> Decimal:
    """Where a taker trades when only a mid is known: half the modeled spread against it."""
    if terms.spread_pips == 0:
        return mid
    pip = instrument.pip_size if instrument.pip_size is not None else Decimal(1)
    return instrument.price_against(mid + sign * terms.spread_pips * pip / _TWO, sign)


def taker_price(
    instrument: Instrument, touch: Decimal, sign: int, slippage_bps: Decimal
) -> Decimal:
    """A taker fill's price: the touch moved ``slippage_bps`` against the trader, on the tick.

    Off the tick it rounds against the trader too (a buy up, a sell down), as a venue fills.
    """
    return instrument.price_against(touch * (1 + sign * slippage_bps / BPS), sign)


def order_fee(
    terms: CostTerms,
    liquidity: Liquidity,
    quantity: Decimal,
    price: Decimal,
    filled_before: Decimal = ZERO,
    accrued_before: Decimal = ZERO,
    charged_before: Decimal = ZERO,
) -> tuple[Decimal, Decimal]:
    """A fill's fee and the order's new unrounded bps accrual (the first fill: defaults).

    Per-share (with its minimum), per-lot and fixed fees are the order's, not the fill's: the
    fills of an order add up to max(minimum, units x rate) + lots x rate + fixed + bps, in cents.
    """
    liquidity_bps = terms.maker_bps if liquidity is Liquidity.MAKER else terms.taker_bps
    accrued = accrued_before + abs(quantity * price) * (terms.bps + liquidity_bps) / BPS
    units = filled_before + quantity
    per_share = units * terms.per_share
    if 0 < per_share < terms.minimum:
        per_share = terms.minimum
    per_lot = units * terms.per_lot / terms.lot_units if terms.per_lot else ZERO
    total = money(per_share + per_lot + accrued + terms.fixed)
    return max(total - charged_before, ZERO), accrued


def expected_costs(
    terms: CostTerms,
    instrument: Instrument,
    sign: int,
    quantity: Decimal,
    reference: Decimal,
    limit: Decimal | None = None,
) -> CostEstimate:
    """An order's expected fill at ``reference`` (a mid or mark), fee at the dearer liquidity.

    A limit caps the price (the venue never fills beyond it); the fee is the larger of taker
    and maker, since a marketable limit takes and a resting one makes.
    """
    touch = modeled_touch(terms, instrument, reference, sign)
    price = taker_price(instrument, touch, sign, terms.slippage_bps)
    if limit is not None:
        price = min(price, limit) if sign > 0 else max(price, limit)
        touch = min(touch, price) if sign > 0 else max(touch, price)
    fee = max(
        order_fee(terms, Liquidity.TAKER, quantity, price)[0],
        order_fee(terms, Liquidity.MAKER, quantity, price)[0],
    )
    return CostEstimate(
        price=price,
        spread=money((touch - reference) * sign * quantity),
        slippage=money((price - touch) * sign * quantity),
        fee=fee,
    )
