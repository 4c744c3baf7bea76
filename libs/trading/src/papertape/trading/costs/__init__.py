"""One cost schedule for both sides of a trade: its defaults, and the pricing both call."""

from papertape.trading.costs.defaults import DEFAULT_TERMS
from papertape.trading.costs.pricing import (
    CostEstimate,
    expected_costs,
    modeled_touch,
    order_fee,
    taker_price,
    terms_for,
)

__all__ = [
    "DEFAULT_TERMS",
    "CostEstimate",
    "expected_costs",
    "modeled_touch",
    "order_fee",
    "taker_price",
    "terms_for",
]
