"""``papertape compare`` and ``audit verify`` on a run recorded in the PostgreSQL event log."""

from __future__ import annotations

import asyncio
import json
from itertools import groupby
from pathlib import Path

import pytest

from papertape.cli.__main__ import main
from papertape.cli.backtests.bars import Selection, file_bars
from papertape.common.eventlog import new_event
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.strategies.crossover import MovingAverageCrossover

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).parents[2] / "examples" / "AAPL-1m.csv"


async def test_a_session_recorded_in_the_database_against_its_backtest_does_not_diverge(
    fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters={"fast": 5, "slow": 20},
        symbols=("AAPL",),
        session_id="recorded",
        account_id="recorded",
    )
    run = Backtest(config)
    run.run(file_bars(SAMPLE, Selection(), "AAPL"))
    log = await PostgresEventLog.connect(fresh_database)
    try:
        for stream, group in groupby(run.log.envelopes, key=lambda e: e.stream_id):
            batch = list(group)
            await log.append(stream, batch[0].stream_version - 1, [new_event(e) for e in batch])
    finally:
        await log.close()
    where = ["--database-url", fresh_database]
    argv = ["compare", "--session", "recorded", *where, "--data", str(SAMPLE), "--symbol", "AAPL"]
    assert await asyncio.to_thread(main, [*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["divergent"] == 0
    assert len(result["matched"]) >= 4
    verify = ["audit", "verify", *where, "--no-live", "--json"]
    assert await asyncio.to_thread(main, verify) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
