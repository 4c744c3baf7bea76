"""The garbage collector set for a service: young collections rarer, what the ready service
holds frozen, every pause observed, a wrong setting refused; and a test's process untouched."""

from __future__ import annotations

import asyncio
import gc
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from papertape.common import collector, eventloop
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import running


@pytest.fixture(autouse=True)
def untouched() -> Iterator[None]:
    """Whatever a test sets, the test process goes on with CPython's own settings."""
    before = gc.get_threshold()
    yield
    collector.untune()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_young_threshold_is_read_and_a_wrong_one_refused() -> None:
    assert collector.young_threshold("") == collector.YOUNG_THRESHOLD
    assert collector.young_threshold("50000") == 50_000
    assert collector.young_threshold("0") == 0
    for wrong in ("-1", "2e4", "lots", "20000000"):
        with pytest.raises(ValueError, match="PAPERTAPE_GC_YOUNG_THRESHOLD must be a whole"):
            collector.young_threshold(wrong)


def test_a_service_collects_young_objects_less_often_and_freezes_once_ready() -> None:
    assert collector.settle() == 0  # not a service process: nothing frozen
    assert gc.get_freeze_count() == 0
    collector.tune(30_000)
    assert gc.get_threshold() == (30_000, *collector.OLDER_THRESHOLDS)
    held = [[n] for n in range(1_000)]  # what a ready service holds
    frozen = collector.settle()
    assert frozen >= len(held)
    assert gc.get_freeze_count() == frozen
    collector.untune()
    assert gc.get_freeze_count() == 0  # unfrozen: collected as any object again


def test_zero_keeps_pythons_settings_and_freezes_nothing() -> None:
    before = gc.get_threshold()
    collector.tune(0)
    assert gc.get_threshold() == before
    assert collector.settle() == 0


def test_every_pause_is_observed_by_generation_and_exported() -> None:
    collector.tune(collector.YOUNG_THRESHOLD)
    pauses = collector.pauses()
    full, young = pauses.count(2), pauses.count(0)
    gc.collect()
    gc.collect(0)
    assert pauses.count(2) == full + 1
    assert pauses.count(0) == young + 1
    assert pauses.sums[2] > 0
    metrics = ServiceMetrics("portfolio")
    count = metrics.registry.get_sample_value(
        "papertape_gc_pause_seconds_count", {"service": "portfolio", "generation": "2"}
    )
    bucket = metrics.registry.get_sample_value(
        "papertape_gc_pause_seconds_bucket",
        {"service": "portfolio", "generation": "2", "le": "+Inf"},
    )
    assert count == bucket == pauses.count(2)


def test_eventloop_run_sets_the_collector_while_main_runs_then_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def threshold() -> tuple[int, int, int]:
        return gc.get_threshold()

    monkeypatch.delenv("PAPERTAPE_GC_YOUNG_THRESHOLD", raising=False)
    assert eventloop.run(threshold()) == (collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scraped(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    (line,) = [line for line in text.splitlines() if line.startswith(name + "{")]
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.integration
@pytest.mark.parametrize(("threshold", "freezes"), [("", True), ("0", False)])
async def test_a_ready_service_process_has_frozen_what_it_holds_and_says_so(
    threshold: str,
    freezes: bool,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
) -> None:
    port = _free_port()
    env = {
        "PAPERTAPE_NATS_URL": nats_url,
        "PAPERTAPE_DATABASE_URL": fresh_database,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": str(port),
        "PAPERTAPE_SYMBOLS": "BTCUSD",
        "PAPERTAPE_QUOTE_RATE": "5",
        "PAPERTAPE_GC_YOUNG_THRESHOLD": threshold,
    }
    async with running("marketdata", env):
        frozen = await asyncio.to_thread(_scraped, port, "papertape_gc_frozen_objects")
    assert (frozen > 10_000) is freezes  # modules, classes and functions at the least
