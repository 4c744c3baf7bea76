"""The backtest engine: an EMA crossover over 200,000 and 1,000,000 one-minute bars of one
symbol, bars/s and peak memory, beside NautilusTrader's BacktestEngine with its own EMA-cross
example strategy (``EMACross``, 10/20) over the same bars in the same run.

Both engines get the same seeded random walk and are timed on the run alone (bars built
before the clock starts, each in its own format), by the wall clock and by the process's CPU
time (on a machine shared with other work the CPU rate is the steadier comparison).
Papertape runs the whole paper path: the bot session (``ma_crossover``, EMA 10/20, long/short
reversal, its signal recorded on every bar), the account with pre-trade risk and brackets, the
venue walking each bar, the in-memory log. Each run is its own process, and its peak resident
memory (bars included) is that process's own high-water mark (``peak_rss_mb``: VmHWM, not
``ru_maxrss``, which a process started by a large one inherits from it across exec). At
200,000 bars each engine runs three times, in turn, and each figure is the median of its
three (a noisy machine slows one run, not the other engine's).
Targets: papertape >= 2x NautilusTrader's bars/s; its rate at 1M within 10% of its rate at 200k.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

SIZES = (200_000, 1_000_000)
START = datetime(2024, 1, 2, tzinfo=UTC)
FAST, SLOW, QUANTITY = 10, 20, 10


def walk(count: int) -> list[tuple[str, str, str, str]]:
    """OHLC text of a seeded random walk (cents), one bar a minute."""
    rng = random.Random(20_240_102)
    price, out = 100.0, []
    for _ in range(count):
        open_ = price
        price = max(1.0, price + rng.gauss(0.0, 0.1))
        high, low = max(open_, price) + 0.05, min(open_, price) - 0.05
        out.append((f"{open_:.2f}", f"{high:.2f}", f"{low:.2f}", f"{price:.2f}"))
    return out


def papertape(count: int) -> dict[str, Any]:
    from papertape.contract.events.market import BarClosed, Timeframe
    from papertape.contract.events.sessions import RiskOverrides, Sizing
    from papertape.contract.ids import Symbol
    from papertape.trading.backtest import Backtest, BacktestConfig
    from papertape.trading.strategies.crossover import MovingAverageCrossover

    symbol, minute, volume = Symbol("AAPL"), timedelta(minutes=1), Decimal(10_000)
    bars = [
        BarClosed(
            symbol=symbol,
            timeframe=Timeframe.M1,
            open=Decimal(o),
            high=Decimal(h),
            low=Decimal(lo),
            close=Decimal(c),
            volume=volume,
            start=START + i * minute,
            end=START + (i + 1) * minute,
            source="bench",
        )
        for i, (o, h, lo, c) in enumerate(walk(count))
    ]
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters={"fast": FAST, "slow": SLOW, "average": "ema", "direction": "reversal"},
        symbols=(symbol,),
        overrides=RiskOverrides(sizing=Sizing.FIXED_QUANTITY, quantity=Decimal(QUANTITY)),
        initial_cash=Decimal(1_000_000),
    )
    engine = Backtest(config)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run(bars)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    fills = sum(1 for e in engine.log.of("account-backtest") if type(e).__name__ == "OrderFilledV2")
    return {
        "bars_per_s": count / seconds,
        "cpu_bars_per_s": count / cpu,
        "fills": fills,
        "events": len(engine.log),
    }


def nautilus(count: int) -> dict[str, Any]:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    instrument = TestInstrumentProvider.equity(symbol="AAPL", venue="XNAS")
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    first = int(START.timestamp()) * 1_000_000_000
    minute, volume = 60 * 1_000_000_000, Quantity.from_int(10_000)
    bars = [
        Bar(
            bar_type,
            Price.from_str(o),
            Price.from_str(h),
            Price.from_str(lo),
            Price.from_str(c),
            volume,
            first + (i + 1) * minute,
            first + (i + 1) * minute,
        )
        for i, (o, h, lo, c) in enumerate(walk(count))
    ]
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        venue=Venue("XNAS"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1_000_000, USD)],
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = EMACross(
        EMACrossConfig(
            instrument_id=instrument.id,
            bar_type=bar_type,
            trade_size=Decimal(QUANTITY),
            fast_ema_period=FAST,
            slow_ema_period=SLOW,
            request_bars=False,
        )
    )
    engine.add_strategy(strategy)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    fills = len(engine.trader.generate_order_fills_report())
    engine.dispose()
    return {"bars_per_s": count / seconds, "cpu_bars_per_s": count / cpu, "fills": fills}


def measured(engine: str, count: int) -> dict[str, Any]:
    """One run in a process of its own: its rate, fills and peak resident memory (MB)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.backtest_bench", engine, str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


ROUNDS = {200_000: 3}
"""Runs of each engine per size, taken in turn (a noisy machine slows one run, not all)."""


def interleaved(count: int, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """NautilusTrader's and papertape's runs over ``count`` bars, ``rounds`` of each taken in
    turn, each its own process: per figure, the median of each engine's runs."""
    theirs: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    for _ in range(rounds):
        theirs.append(measured("nautilus", count))
        ours.append(measured("papertape", count))
    if rounds > 1:
        print(f"backtest bench {count} bars, {rounds} rounds: nautilus {theirs}, papertape {ours}")
    return _median(theirs), _median(ours)


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("bars_per_s", "cpu_bars_per_s", "peak_rss_mb")
    return runs[0] | {key: statistics.median(run[key] for run in runs) for key in keys}


def _record(name: str, value: float, unit: str, higher: bool, baseline: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 1),
        "unit": unit,
        "higher_is_better": higher,
        "baseline": baseline,
    }


async def run() -> list[dict[str, Any]]:
    """The measurements, as records of bench/results/latest.json (without machine and time)."""
    out: list[dict[str, Any]] = []
    for count in SIZES:
        label = f"{count // 1000}k"
        theirs, ours = interleaved(count, ROUNDS.get(count, 1))
        print(f"backtest bench {label} bars: papertape {ours}, nautilus {theirs}")
        for kind, key in (("", "bars_per_s"), ("cpu_", "cpu_bars_per_s")):
            base_name = f"backtest.nautilus_ema_cross_{kind}bars_per_s_{label}"
            base = {"name": base_name, "value": round(theirs[key], 1)}
            out += [
                _record(base_name, theirs[key], "bars/s", True, None),
                _record(
                    f"backtest.ema_cross_{kind}bars_per_s_{label}", ours[key], "bars/s", True, base
                ),
            ]
        rss = f"backtest.nautilus_peak_rss_mb_{label}"
        out += [
            _record(rss, theirs["peak_rss_mb"], "MB", False, None),
            _record(
                f"backtest.peak_rss_mb_{label}",
                ours["peak_rss_mb"],
                "MB",
                False,
                {"name": rss, "value": round(theirs["peak_rss_mb"], 1)},
            ),
        ]
    small = next(r for r in out if r["name"] == "backtest.ema_cross_bars_per_s_200k")
    large = next(r for r in out if r["name"] == "backtest.ema_cross_bars_per_s_1000k")
    out.append(
        _record(
            "backtest.rate_1m_over_200k",
            large["value"] / small["value"],
            "ratio",
            True,
            {"name": small["name"], "value": small["value"]},
        )
    )
    return out


TARGETS_SPEC: tuple[tuple[str, float, str | None], ...] = (
    ("backtest.ema_cross_bars_per_s_200k", 2.0, "backtest.nautilus_ema_cross_bars_per_s_200k"),
    ("backtest.ema_cross_bars_per_s_1000k", 2.0, "backtest.nautilus_ema_cross_bars_per_s_1000k"),
    (
        "backtest.ema_cross_cpu_bars_per_s_200k",
        2.0,
        "backtest.nautilus_ema_cross_cpu_bars_per_s_200k",
    ),
    ("backtest.ema_cross_bars_per_s_200k", 100_000.0, None),
    ("backtest.rate_1m_over_200k", 0.9, None),
)


def peak_rss_mb() -> float:
    """This process's own peak resident memory in MB: Linux's VmHWM of its memory map.

    ``ru_maxrss`` is no measure here: Linux carries the peak of the memory a process had before
    exec into it, so a run started by a bench process of 960 MB reported 960 MB whatever it
    used. Elsewhere (no /proc) ``ru_maxrss`` is all there is.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    engine, count = sys.argv[1], int(sys.argv[2])
    result = (papertape if engine == "papertape" else nautilus)(count)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
