"""The default cost terms per asset class: what an account pays until it sets its own.

| asset class | commission | slippage | spread where none is quoted |
|---|---|---|---|
| equity (US) | $0.005 a share, at least $1.00 an order (a broker's fixed plan) | 2 bps | none |
| fx | none (optional: ``per_lot`` per 100,000 units) | none | 1 pip (a quote shows its own) |
| crypto | 0.25% maker, 0.40% taker (an exchange's entry tier) | 5 bps | none |

The same table is in cli/README.md (``papertape account costs``); keep the two in step.
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.costs import CostTerms
from papertape.contract.instruments import AssetClass

DEFAULT_TERMS: dict[AssetClass, CostTerms] = {
    AssetClass.EQUITY: CostTerms(
        name="equity",
        per_share=Decimal("0.005"),
        minimum=Decimal("1.00"),
        slippage_bps=Decimal(2),
    ),
    AssetClass.FX: CostTerms(name="fx", spread_pips=Decimal(1)),
    AssetClass.CRYPTO: CostTerms(
        name="crypto",
        maker_bps=Decimal(25),
        taker_bps=Decimal(40),
        slippage_bps=Decimal(5),
    ),
}
"""Terms by asset class; an account's schedule replaces a class's entry or one instrument's."""
