"""What-if: a recorded account's own orders again under other fee, slippage and latency models."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.execution import ExecutionModels, FillPolicy
from papertape.contract.events.sessions import RiskOverrides, Sizing
from papertape.contract.instruments import AssetClass
from papertape.trading.account.reports import account_performance
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.backtest.comparison import by_order, compare
from papertape.trading.backtest.whatif import Models, Recorded, what_if
from papertape.trading.costs import DEFAULT_TERMS
from papertape.trading.strategies.crossover import MovingAverageCrossover
from papertape.trading.venue.config import VenueConfig
from tests.trading.backtest import rules

BARS = rules.wavy_bars()


def recorded() -> tuple[Backtest, Recorded]:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters={"fast": 3, "slow": 8, "atr_period": 2},
        symbols=("AAPL",),
        overrides=RiskOverrides(sizing=Sizing.FIXED_QUANTITY, quantity=Decimal(10)),
    )
    engine = Backtest(config)
    engine.run(BARS)
    account = engine.log.of("account-backtest")
    return engine, Recorded.of(account)


def schedule(**terms: Decimal) -> CostSchedule:
    equity = DEFAULT_TERMS[AssetClass.EQUITY]
    changed = CostTerms(**{**{f: getattr(equity, f) for f in equity.__struct_fields__}, **terms})
    return CostSchedule(asset_classes={**DEFAULT_TERMS, AssetClass.EQUITY: changed})


def test_the_same_models_give_the_same_fills() -> None:
    engine, log = recorded()
    state, fills = what_if(log, BARS, Models())
    assert len(log.fills) > 4
    result = compare(
        ("recorded", "what-if"),
        (by_order(log.fills), by_order(fills)),
        (account_performance(engine.account), account_performance(state)),
    )
    assert result.divergent == 0
    assert len(result.matched) == len(log.fills)


def test_a_dearer_commission_changes_exactly_the_fees() -> None:
    _, log = recorded()
    _, fills = what_if(log, BARS, Models(schedule=schedule(minimum=Decimal(5))))
    left, right = by_order(log.fills), by_order(fills)
    assert left.keys() == right.keys()
    for key, fill in left.items():
        assert right[key].price == fill.price
        assert right[key].quantity == fill.quantity
        # $0.005 a share, at least $1 an order: ten shares pay the minimum, now $5.
        assert fill.fee == Decimal("1.00")
        assert right[key].fee == Decimal("5.00")


def test_latency_moves_market_fills_to_a_later_bar() -> None:
    _, log = recorded()
    slow = VenueConfig(default=ExecutionModels(fills=FillPolicy(latency_ms=90_000)))
    _, fills = what_if(log, BARS, Models(venue=slow))
    later = {f.order_id: f.ts for f in fills}
    entries = [o.order_id for o in log.orders if not o.reduce_only]
    first = {f.order_id: f.ts for f in reversed(log.fills)}
    delays = {(later[o] - first[o]).total_seconds() for o in entries if o in later}
    assert len([o for o in entries if o in later]) >= len(entries) - 1  # the last may not fill
    assert delays == {120.0}  # placed at a bar's end, 90 s later is inside the second bar after
