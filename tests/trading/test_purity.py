"""The trading domain reads no clock and draws no randomness (imports are checked by lint)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import papertape.trading

SOURCES = sorted(Path(papertape.trading.__file__).parent.rglob("*.py"))
CLOCK_OR_CHANCE = re.compile(
    r"\.now\(|\.utcnow\(|\.today\(|time\.time|perf_counter|monotonic|uuid\.uuid[147]\(|os\.urandom"
)


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_domain_module_takes_time_and_ids_as_input(source: Path) -> None:
    code = "\n".join(
        line for line in source.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    assert not CLOCK_OR_CHANCE.findall(code), f"{source.name} reads a clock or draws chance"
