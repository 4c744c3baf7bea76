"""The built-in strategies: given bars, then decisions, levels and reasons."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from papertape.contract.events.sessions import StopKind
from papertape.contract.events.signals import Decision
from papertape.trading.strategies.api import Evaluation, Strategy
from papertape.trading.strategies.bollinger import BollingerParams, BollingerReversion
from papertape.trading.strategies.breakout import DonchianBreakout, DonchianParams
from papertape.trading.strategies.crossover import (
    Average,
    CrossoverParams,
    Direction,
    MovingAverageCrossover,
)
from papertape.trading.strategies.registry import STRATEGIES, catalog, parse_params
from papertape.trading.strategies.reversion import RsiParams, RsiReversion
from tests.trading.strategies.bars import FAR, RISK, bar, bars

FLAT = [100.0] * 30
UP = [100.0 + 0.8 * i for i in range(1, 30)]
DOWN = [UP[-1] - 0.8 * i for i in range(1, 30)]


def run(strategy: Strategy, closes: list[float]) -> list[Evaluation]:
    return [strategy.on_bar(b) for b in bars(closes)]


def decisions(evaluations: list[Evaluation]) -> list[Decision]:
    return [e.decision for e in evaluations]


def crossover(**kw: object) -> MovingAverageCrossover:
    params = CrossoverParams(fast=3, slow=8, atr_period=3, **kw)  # type: ignore[arg-type]
    return MovingAverageCrossover(params, RISK)


def test_crossover_skips_while_warming_up_and_buys_when_the_fast_average_crosses_up() -> None:
    evaluations = run(crossover(average=Average.SMA), [100.0, 99.0] * 5 + UP[:10])
    assert evaluations[0].decision is Decision.SKIP
    assert "warming up" in evaluations[0].reasoning
    buy = next(e for e in evaluations if e.decision is Decision.BUY)
    assert "crossed above" in buy.reasoning
    assert buy.entry is not None and buy.stop is not None  # noqa: PT018
    atr = dict(buy.indicators)["atr"]
    assert buy.stop == pytest.approx(buy.entry - 2 * atr)  # 2 x ATR below the entry
    (target,) = buy.targets
    assert target == pytest.approx(buy.entry + 2 * 2 * atr)  # 2R
    assert 40 <= buy.confidence <= 100
    assert {"fast", "slow", "atr"} <= set(dict(buy.indicators))


def test_long_only_crossover_closes_on_the_cross_down_and_never_sells_short() -> None:
    strategy = MovingAverageCrossover(CrossoverParams(fast=3, slow=8, atr_period=3), FAR)
    got = decisions(run(strategy, [100.0] * 10 + UP[:12] + DOWN[:12]))
    assert Decision.BUY in got
    assert Decision.CLOSE in got[got.index(Decision.BUY) :]
    assert Decision.SELL not in got


def test_reversal_crossover_turns_the_long_into_a_short() -> None:
    params = CrossoverParams(fast=3, slow=8, atr_period=3, direction=Direction.REVERSAL)
    strategy = MovingAverageCrossover(params, FAR)
    got = decisions(run(strategy, [100.0] * 10 + UP[:12] + DOWN[:12]))
    assert Decision.SELL in got[got.index(Decision.BUY) :]


def test_a_held_long_is_stopped_when_a_bar_reaches_its_stop() -> None:
    strategy = crossover()
    evaluations = run(strategy, [100.0, 99.0] * 5 + UP[:8])
    buy = next(e for e in evaluations if e.decision is Decision.BUY)
    assert buy.stop is not None
    crash = strategy.on_bar(bar(buy.stop - 1, 100, low=buy.stop - 2))
    assert crash.decision is Decision.STOP_LOSS
    assert strategy.holding is None


def test_a_bar_reaching_both_stop_and_target_counts_as_the_stop() -> None:
    strategy = crossover()
    run(strategy, [100.0, 99.0] * 5 + UP[:8])
    holding = strategy.holding
    assert holding is not None
    wide = bar(holding.entry, 100, high=holding.targets[0] + 1, low=holding.stop - 1)
    assert strategy.on_bar(wide).decision is Decision.STOP_LOSS


def test_a_held_long_takes_profit_at_its_first_target() -> None:
    strategy = crossover()
    run(strategy, [100.0, 99.0] * 5 + UP[:8])
    holding = strategy.holding
    assert holding is not None
    up = bar(holding.targets[0] + 0.5, 100, low=holding.entry)
    assert strategy.on_bar(up).decision is Decision.TAKE_PROFIT


def test_percent_stops_are_a_percentage_of_the_entry() -> None:
    risk = msgspec.structs.replace(RISK, stop_kind=StopKind.PERCENT, stop_value=Decimal(1))
    strategy = MovingAverageCrossover(CrossoverParams(fast=3, slow=8, atr_period=3), risk)
    buy = next(e for e in run(strategy, [100.0, 99.0] * 5 + UP[:10]) if e.entry is not None)
    assert buy.entry is not None
    assert buy.stop == pytest.approx(buy.entry * 0.99)


def test_rsi_reversion_buys_the_oversold_and_closes_at_the_exit_level() -> None:
    strategy = RsiReversion(RsiParams(period=5, atr_period=3), FAR)
    falling = [100.0 - 1.5 * i for i in range(12)]
    rising = [falling[-1] + 2.0 * i for i in range(1, 12)]
    evaluations = run(strategy, falling + rising)
    buy = next(e for e in evaluations if e.decision is Decision.BUY)
    assert "oversold" in buy.reasoning
    assert dict(buy.indicators)["rsi"] < 30
    after = decisions(evaluations[evaluations.index(buy) + 1 :])
    assert Decision.CLOSE in after


def test_rsi_reversion_without_shorts_holds_on_the_overbought() -> None:
    strategy = RsiReversion(RsiParams(period=5, atr_period=3), RISK)
    evaluations = run(strategy, [100.0 + 1.5 * i for i in range(14)])
    last = evaluations[-1]
    assert last.decision is Decision.HOLD
    assert "shorts are not allowed" in last.reasoning


def test_donchian_buys_a_close_above_the_previous_channel() -> None:
    strategy = DonchianBreakout(DonchianParams(period=5, exit_period=3, atr_period=3), RISK)
    evaluations = run(strategy, [*FLAT[:8], 103.0])
    assert evaluations[-1].decision is Decision.BUY
    assert "broke above" in evaluations[-1].reasoning
    assert dict(evaluations[-1].indicators)["donchian_upper"] == pytest.approx(100.5)


def test_donchian_closes_when_the_close_falls_through_the_exit_channel() -> None:
    strategy = DonchianBreakout(DonchianParams(period=5, exit_period=3, atr_period=3), FAR)
    got = decisions(run(strategy, [*FLAT[:8], 103.0, 103.0, 103.0, 101.0]))
    assert got[-4:] == [Decision.BUY, Decision.HOLD, Decision.HOLD, Decision.CLOSE]


def test_bollinger_buys_below_the_lower_band_and_closes_at_the_middle() -> None:
    params = BollingerParams(period=5, width=Decimal("1.5"), atr_period=3)
    strategy = BollingerReversion(params, FAR)
    got = decisions(run(strategy, [100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 94.0, 101.0]))
    assert got[-2:] == [Decision.BUY, Decision.CLOSE]


def test_bollinger_with_shorts_sells_above_the_upper_band() -> None:
    params = BollingerParams(period=5, width=Decimal("1.5"), atr_period=3, allow_short=True)
    strategy = BollingerReversion(params, RISK)
    got = decisions(run(strategy, [100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 107.0]))
    assert got[-1] is Decision.SELL


def test_the_same_bars_give_the_same_evaluations() -> None:
    closes = [100.0 + ((i * 37) % 11) - 5 for i in range(60)]
    for cls in STRATEGIES.values():
        first = run(cls(cls.params_type(), RISK), closes)
        again = run(cls(cls.params_type(), RISK), closes)
        assert first == again


def test_parameters_are_parsed_from_strings_and_bad_ones_name_the_field() -> None:
    params = parse_params("rsi_reversion", {"period": 7, "oversold": "25"})
    assert isinstance(params, RsiParams)
    assert params.oversold == Decimal(25)
    with pytest.raises(msgspec.ValidationError, match="period"):
        parse_params("rsi_reversion", {"period": 1})
    with pytest.raises(msgspec.ValidationError, match="fast must be shorter"):
        parse_params("ma_crossover", {"fast": 30, "slow": 10})
    with pytest.raises(msgspec.ValidationError, match="unknown"):
        parse_params("ma_crossover", {"speed": 3})


def test_the_catalog_lists_each_strategy_with_its_schema_and_defaults() -> None:
    listed = {info.name: info for info in catalog()}
    assert set(listed) == {
        "ma_crossover",
        "rsi_reversion",
        "donchian_breakout",
        "bollinger_reversion",
    }
    crossover_info = listed["ma_crossover"]
    assert crossover_info.defaults["fast"] == 10
    assert "fast" in str(crossover_info.parameters_schema)
