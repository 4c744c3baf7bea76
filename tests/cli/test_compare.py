"""``papertape compare``: a recorded session against its backtest, and ``--what-if``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from papertape.cli.__main__ import main
from papertape.cli.backtests.bars import Selection, file_bars
from papertape.cli.backtests.logs import write_log
from papertape.contract.events.sessions import RiskOverrides, SessionOrderRefused, Sizing
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.strategies.crossover import MovingAverageCrossover

SAMPLE = Path(__file__).parents[2] / "examples" / "AAPL-1m.csv"


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A backtest's log: a session and its account, as a paper run records them."""
    out = tmp_path / "run"
    argv = ["backtest", "--strategy", "ma_crossover", "--param", "fast=5", "--param", "slow=20",
            "--sizing", "fixed_quantity", "--quantity", "10", "--data", str(SAMPLE),
            "--symbol", "AAPL", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out / "log.jsonl"


def compared(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["compare", *argv, "--data", str(SAMPLE), "--symbol", "AAPL", "--json"]) == 0
    found: dict[str, Any] = json.loads(capsys.readouterr().out)
    return found


def test_a_session_against_a_backtest_over_the_same_bars_does_not_diverge(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = compared(capsys, "--session", "backtest", "--log", str(recorded))
    assert result["divergent"] == 0
    assert len(result["matched"]) >= 4
    assert not any(s["warning"] for s in result["summary"])


def test_a_dearer_minimum_commission_shows_exactly_the_fee_differences(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = compared(capsys, "--session", "backtest", "--log", str(recorded), "--minimum", "5")
    matched = result["matched"]
    assert matched
    assert result["only_left"] == result["only_right"] == []
    # Ten shares at $0.005 pay the minimum: $1 recorded, $5 now, on every fill.
    assert {m["fee"] for m in matched} == {"4.00"}
    assert all(Decimal(m["price"]) == Decimal(m["quantity"]) == Decimal(m["pnl"]) == 0
               for m in matched)  # fmt: skip
    assert all(m["seconds"] == 0 for m in matched)
    assert Decimal(result["fee_total"]) == 4 * len(matched)


def test_what_if_with_the_recorded_models_changes_nothing_and_latency_moves_fills(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = compared(capsys, "--account", "backtest", "--what-if", "--log", str(recorded))
    assert same["divergent"] == 0
    assert same["matched"]
    late = compared(
        capsys,
        "--account",
        "backtest",
        "--what-if",
        "--log",
        str(recorded),
        "--latency-ms",
        "90000",
    )
    entries = [m for m in late["matched"] if m["side"] == "buy"]
    assert entries
    assert {m["seconds"] for m in entries} == {120.0}


def test_eligibility_shows_each_criterion_and_exits_2_when_one_is_not_met(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = ["--log", str(recorded)]
    argv = ["eligibility", "--session", "backtest", *log, "--data", str(SAMPLE), "--json"]
    assert main(argv) == 2  # ten hours on paper, not ninety days
    verdict = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in verdict["criteria"]}
    assert by_name["days on paper"] == {
        "name": "days on paper", "figure": "0", "threshold": ">= 90", "met": False
    }  # fmt: skip
    assert by_name["paper against backtest"]["met"] is True
    lenient = ["--min-days", "0", "--min-trades", "1", "--min-sharpe", "-100",
               "--min-win-rate-pct", "0"]  # fmt: skip
    # A Sharpe ratio needs two days of returns: without a figure its criterion is not met.
    assert main(["eligibility", "--account", "backtest", *log, *lenient, "--json"]) == 2
    lenient_verdict = json.loads(capsys.readouterr().out)
    unmet = [c for c in lenient_verdict["criteria"] if not c["met"]]
    assert unmet == [{"name": "sharpe", "figure": "None", "threshold": ">= -100", "met": False}]


def test_a_session_whose_account_refuses_shorts_is_compared_with_a_backtest_that_refuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A long/short session on a long-only account: its shorts were refused on paper, and the
    backtest opens its account as the recorded one was, so they are refused there too."""
    bars = file_bars(SAMPLE, Selection(symbols=frozenset({"AAPL"})), "AAPL")
    engine = Backtest(
        BacktestConfig(
            strategy=MovingAverageCrossover,
            parameters={"fast": 5, "slow": 20, "direction": "reversal"},
            symbols=("AAPL",),
            overrides=RiskOverrides(sizing=Sizing.FIXED_QUANTITY, quantity=Decimal(10)),
            account_allow_short=False,
        )
    )
    engine.run(bars)
    session = engine.log.of("session-backtest")
    refused = [e for e in session if isinstance(e, SessionOrderRefused)]
    assert refused, "the sample's reversals ask for shorts the account refuses"
    log = tmp_path / "log.jsonl"
    write_log(engine.log.envelopes, log)

    result = compared(capsys, "--session", "backtest", "--log", str(log))
    assert result["divergent"] == 0
    assert result["only_left"] == result["only_right"] == []
    assert result["matched"]
