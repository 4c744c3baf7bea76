"""The backtest bench's peak memory is each run's own, not inherited from the process that
started it (``ru_maxrss`` is, across exec, on Linux)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = (
    "import json, resource; from bench.backtest_bench import peak_rss_mb; "
    "print(json.dumps([peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))"
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's VmHWM")
def test_a_small_run_started_by_a_large_process_reports_its_own_peak() -> None:
    held = bytearray(300 * 1024 * 1024)
    for i in range(0, len(held), 4096):  # resident, not only reserved
        held[i] = 1
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    own, inherited = json.loads(done.stdout)
    assert inherited >= 300  # what the bench used to report
    assert own < 150  # an interpreter and the bench module
    del held


def test_interleaved_runs_take_turns_and_each_figure_is_the_median_of_its_engines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import backtest_bench

    order: list[str] = []
    rates = {"nautilus": iter([5.0, 1.0, 4.0]), "papertape": iter([9.0, 30.0, 10.0])}

    def measured(engine: str, count: int) -> dict[str, float]:
        order.append(engine)
        rate = next(rates[engine])
        return {"bars_per_s": rate, "cpu_bars_per_s": rate, "peak_rss_mb": rate, "fills": 1}

    monkeypatch.setattr(backtest_bench, "measured", measured)
    theirs, ours = backtest_bench.interleaved(1000, 3)

    assert order == ["nautilus", "papertape"] * 3
    assert theirs["bars_per_s"] == 4.0
    assert ours["bars_per_s"] == 10.0
    assert ours["fills"] == 1
