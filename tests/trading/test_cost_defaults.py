"""The defaults table of the cost schedule: its values, and the copy of it in cli/README.md."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.instruments import AssetClass, crypto, equity, fx
from papertape.trading.costs import DEFAULT_TERMS, defaults, terms_for

README = Path(__file__).parents[2] / "cli" / "README.md"


def _rows(text: str) -> list[str]:
    classes = tuple(f"| {c.value}" for c in AssetClass)
    return [
        line.replace("``", "`").strip() for line in text.splitlines() if line.startswith(classes)
    ]


def test_every_asset_class_has_its_default_terms() -> None:
    assert set(DEFAULT_TERMS) == set(AssetClass)
    stock, pair, coin = (DEFAULT_TERMS[c] for c in AssetClass)
    assert (stock.per_share, stock.minimum, stock.slippage_bps) == (
        Decimal("0.005"),
        Decimal(1),
        Decimal(2),
    )
    assert (pair.per_share, pair.spread_pips) == (Decimal(0), Decimal(1))
    assert (coin.per_share, coin.maker_bps, coin.taker_bps) == (
        Decimal(0),
        Decimal(25),
        Decimal(40),
    )


def test_the_readme_copies_the_defaults_table_row_for_row() -> None:
    documented = _rows(defaults.__doc__ or "")
    copied = [row.replace("`--per-lot`", "`per_lot`") for row in _rows(README.read_text())]
    assert len(documented) == len(AssetClass)
    assert copied == documented


def test_terms_are_the_instruments_then_the_classs_then_the_default() -> None:
    mine = CostTerms(name="mine")
    schedule = CostSchedule(asset_classes={AssetClass.FX: mine}, instruments={"MSFT": mine})
    assert terms_for(schedule, equity("MSFT")) is mine
    assert terms_for(schedule, fx("GBPUSD")) is mine
    assert terms_for(schedule, equity("AAPL")) == DEFAULT_TERMS[AssetClass.EQUITY]
    assert terms_for(schedule, crypto("BTCUSD")) == DEFAULT_TERMS[AssetClass.CRYPTO]
